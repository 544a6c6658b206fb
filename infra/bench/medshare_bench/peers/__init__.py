"""The tools medshare is measured against: other de-identifiers and Orthanc."""

"""DICOM de-identification by PS3.15 Annex E; actions are applied in `actions`."""

"""The ways in, one folder per door: `http`, `stow` (DICOMweb), `dimse` (C-STORE SCP),
`kafka` (records.submitted) and `bulk` (files from disk, sent through the HTTP or Kafka door).

What every door shares sits in the package top: `submissions` (the desk that stores and
announces), `validation`, `limits` and `institutions`.
"""

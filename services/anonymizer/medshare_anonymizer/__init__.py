"""medshare anonymizer: de-identifies every ingested record.

Wings: `dicom` (PS3.15 Annex E), `case_report` (HIPAA Safe Harbor, free-text PHI),
`pixels` (burned-in text), `verify` (independent checks of every output). At the top:
the service (`app`, `handlers`, `settings`), the dispatcher (`deidentify`), keyed
pseudonyms (`pseudonyms`, `vault`) and the commands (`cli`).
"""

"""DICOM C-STORE: the storage SCP that PACS and modalities send to."""

"""DICOMweb STOW-RS (PS3.18 10.5): many instances in one multipart/related request."""

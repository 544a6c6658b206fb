"""HTTP doors: one DICOM instance or one case report per request."""

"""Case-report de-identification by HIPAA Safe Harbor, with free-text PHI detection."""

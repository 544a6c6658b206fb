"""medshare_ingest."""

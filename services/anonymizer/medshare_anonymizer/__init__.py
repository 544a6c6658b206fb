"""medshare_anonymizer."""

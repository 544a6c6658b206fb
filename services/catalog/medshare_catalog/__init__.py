"""medshare_catalog."""

"""medshare_shared."""

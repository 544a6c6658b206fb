"""medshare_infra."""

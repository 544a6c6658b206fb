"""medshare_inference."""

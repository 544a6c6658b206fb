"""medshare's benchmarks, the peers they are compared with, and their plots."""

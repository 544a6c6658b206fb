"""The only code that reads and writes MongoDB, and the shared zone's objects."""

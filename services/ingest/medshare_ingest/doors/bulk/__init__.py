"""Bulk import: files from disk sent through the HTTP or Kafka door."""

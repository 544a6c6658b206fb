"""The Kafka door: institutions publish records to records.submitted."""

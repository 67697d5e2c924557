"""Parquet sink: archives raw events from Kafka to the raw-events bucket."""

"""Stream worker: exact sliding-window features from Kafka into the online store."""

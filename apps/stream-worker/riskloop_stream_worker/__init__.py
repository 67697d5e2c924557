"""Stream worker: tiled sliding-window features from Kafka into the online store."""

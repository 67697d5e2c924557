"""riskloop-streaming: the Kafka plumbing the stream apps share (topics, decoding, dead letters, metrics, logs)."""

"""riskloop-trainer: the training CLI (search, registry gates, promotion, rollback)."""

"""riskloop-scoring: online fraud scoring: feature vectors, XGBoost scores with SHAP reasons, one-round-trip
online reads, a hot-swappable model and fire-and-forget prediction publishing."""

"""Fraud scoring service: online features, XGBoost champion, hot reload."""

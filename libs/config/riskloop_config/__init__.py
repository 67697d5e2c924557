"""Riskloop's typed settings: one tree, built once at process entry and passed down."""

from riskloop_config.report import settings_table
from riskloop_config.settings import (
    AirflowSettings,
    Environment,
    FeastSettings,
    FraudApiSettings,
    InvalidSettings,
    KafkaSettings,
    MlflowSettings,
    PostgresSettings,
    PricingApiSettings,
    RedisSettings,
    RiskloopSettings,
    S3Settings,
    load_settings,
    settings_or_exit,
)

__all__ = [
    "AirflowSettings",
    "Environment",
    "FeastSettings",
    "FraudApiSettings",
    "InvalidSettings",
    "KafkaSettings",
    "MlflowSettings",
    "PostgresSettings",
    "PricingApiSettings",
    "RedisSettings",
    "RiskloopSettings",
    "S3Settings",
    "load_settings",
    "settings_or_exit",
    "settings_table",
]

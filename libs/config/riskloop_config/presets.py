"""Defaults per environment. `local` runs on one laptop with embedded parts only; `compose` points at
the service names of deploy/compose; `production` leaves every address and secret to the environment."""

from __future__ import annotations

from typing import Any

from riskloop_config.settings import Environment

_LOCAL: dict[str, Any] = {
    "environment": "local",
    "data_dir": "var",
    # Not used by the local loop (SQLite/files stand in), kept for tools that want the machine's server.
    "postgres": {"host": "127.0.0.1", "database": "riskloop"},
    "redis": {"host": "127.0.0.1"},
    "s3": {"backend": "local", "local_root": "var/objects"},
    "kafka": {"bootstrap_servers": "127.0.0.1:19092", "embedded_broker": True},
    "feast": {
        "online_store": "sqlite",
        "registry": "var/feast/registry.db",
        "offline_root": "var/offline",
        "sqlite_path": "var/feast/online.db",
    },
    "mlflow": {"tracking_uri": "sqlite:///var/mlflow.db", "artifact_location": "var/mlflow-artifacts"},
    # A fixed token is fine on a laptop; compose and production must set their own.
    "fraud_api": {"admin_token": "local-admin-token"},
}

_COMPOSE: dict[str, Any] = {
    "environment": "compose",
    "data_dir": "/var/lib/riskloop",
    "postgres": {"host": "postgres", "password": "riskloop", "user": "riskloop"},
    "redis": {"host": "redis"},
    "s3": {
        "backend": "s3",
        "endpoint_url": "http://minio:9000",
        "access_key_id": "minioadmin",
        "secret_access_key": "minioadmin",
    },
    "kafka": {"bootstrap_servers": "kafka:9092"},
    "feast": {
        "online_store": "redis",
        "registry": "postgresql+psycopg://riskloop:riskloop@postgres:5432/riskloop",
        "offline_root": "s3://feature-offline",
    },
    "mlflow": {"tracking_uri": "http://mlflow:5000"},
    "fraud_api": {"host": "0.0.0.0", "url": "http://fraud-api:3000"},
    "pricing_api": {"host": "0.0.0.0"},
}

# Empty sections make a missing address or secret show up as its own variable, e.g. RISKLOOP_REDIS__HOST.
_PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "postgres": {},
    "redis": {},
    "kafka": {},
    "mlflow": {},
    "s3": {"backend": "s3"},
    "feast": {"online_store": "redis"},
    "fraud_api": {"host": "0.0.0.0"},
    "pricing_api": {"host": "0.0.0.0"},
}

_PRESETS = {Environment.LOCAL: _LOCAL, Environment.COMPOSE: _COMPOSE, Environment.PRODUCTION: _PRODUCTION}


def preset_for(environment: Environment) -> dict[str, Any]:
    """A fresh copy of the preset, so callers can never change the defaults of the next caller."""
    import copy

    return copy.deepcopy(_PRESETS[environment])

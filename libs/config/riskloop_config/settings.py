"""The one typed settings tree of Riskloop.

Built once at process entry (`load_settings()`), then passed down: libraries never read the environment.
`ENVIRONMENT` (or `RISKLOOP_ENVIRONMENT`) picks a preset (`presets.py`); any field can be overridden by
`RISKLOOP_<SECTION>__<FIELD>` variables, e.g. `RISKLOOP_REDIS__PORT=6380`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "RISKLOOP_"
NESTED_DELIMITER = "__"


class Environment(str, Enum):
    LOCAL = "local"
    COMPOSE = "compose"
    PRODUCTION = "production"


class _Section(BaseModel):
    # A typo in a variable name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostgresSettings(_Section):
    host: str = Field(description="PostgreSQL host name or address.")
    port: int = Field(5432, ge=1, le=65535, description="PostgreSQL TCP port.")
    user: str = Field("postgres", description="Role to connect as.")
    password: SecretStr = Field(SecretStr(""), description="Password; empty for trust auth.")
    database: str = Field("riskloop", description="Database holding the MLflow and Feast registry tables.")

    def dsn(self, *, database: str | None = None, driver: str = "postgresql") -> str:
        """A SQLAlchemy/libpq URL; `driver` e.g. `postgresql+psycopg` for SQLAlchemy with psycopg 3."""
        secret = self.password.get_secret_value()
        auth = f"{self.user}:{secret}@" if secret else f"{self.user}@"
        return f"{driver}://{auth}{self.host}:{self.port}/{database or self.database}"


class RedisSettings(_Section):
    host: str = Field(description="Redis host name or address.")
    port: int = Field(6379, ge=1, le=65535, description="Redis TCP port.")
    db: int = Field(0, ge=0, le=15, description="Redis logical database number.")
    password: SecretStr = Field(SecretStr(""), description="Redis AUTH password; empty for none.")

    @property
    def url(self) -> str:
        secret = self.password.get_secret_value()
        auth = f":{secret}@" if secret else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"

    @property
    def feast_connection_string(self) -> str:
        """The `connection_string` Feast's Redis online store expects."""
        parts = [f"{self.host}:{self.port}", f"db={self.db}"]
        if self.password.get_secret_value():
            parts.append(f"password={self.password.get_secret_value()}")
        return ",".join(parts)


class S3Settings(_Section):
    backend: Literal["local", "s3"] = Field(
        description="`local` keeps objects in folders under `local_root`; `s3` talks to an S3 API."
    )
    local_root: Path = Field(Path("var/objects"), description="Folder standing in for buckets when backend=local.")
    endpoint_url: str | None = Field(None, description="S3 API endpoint (MinIO, moto); None for AWS.")
    region: str = Field("us-east-1", description="S3 region.")
    access_key_id: SecretStr | None = Field(None, description="Access key; None to use the default AWS chain.")
    secret_access_key: SecretStr | None = Field(None, description="Secret key; None to use the default AWS chain.")
    raw_events_bucket: str = Field("raw-events", description="Bucket the Parquet sink archives raw events to.")
    artifacts_bucket: str = Field("mlflow-artifacts", description="Bucket holding MLflow artifacts.")
    offline_bucket: str = Field("feature-offline", description="Bucket holding the offline feature tables.")

    def bucket_uri(self, bucket: str) -> str:
        """Where a bucket lives: a local folder path or `s3://bucket`."""
        if self.backend == "local":
            return str((self.local_root / bucket).resolve())
        return f"s3://{bucket}"


class KafkaSettings(_Section):
    bootstrap_servers: str = Field(description="Comma-separated host:port list of the Kafka-protocol brokers.")
    embedded_broker: bool = Field(
        False, description="Start a local Tansu broker at bootstrap_servers (local mode) instead of expecting one."
    )
    raw_transactions_topic: str = Field("raw.transactions", description="Purchases, keyed by user id.")
    labels_topic: str = Field("labels.chargebacks", description="Chargebacks (late fraud labels).")
    predictions_topic: str = Field("predictions.fraud", description="Every score the fraud API returns.")
    dead_letter_topic: str = Field("raw.transactions.dlq", description="Messages that could not be processed.")
    partitions: int = Field(4, ge=1, description="Partitions for topics the apps create.")
    replication_factor: int = Field(1, ge=1, description="Replication factor for topics the apps create.")


class FeastSettings(_Section):
    repo_path: Path = Field(Path("feature_repo"), description="Folder holding the Feast definitions.")
    project: str = Field("riskloop", pattern=r"^[a-z][a-z0-9_]*$", description="Feast project name.")
    online_store: Literal["sqlite", "redis"] = Field(description="Online store type.")
    registry: str = Field(
        description="Registry location: a file path (local) or a SQLAlchemy URL (compose/production)."
    )
    offline_root: str = Field("var/offline", description="Folder or s3:// URI of the offline Parquet tables.")
    sqlite_path: Path = Field(Path("var/online.db"), description="SQLite online store file (online_store=sqlite).")

    # Feast resolves relative file paths against its repo folder, not the process's working directory:
    # local paths are made absolute once, here, so every component means the same files.
    @field_validator("registry", "offline_root", mode="after")
    @classmethod
    def _absolute_local_location(cls, value: str) -> str:
        return value if "://" in value else os.path.abspath(value)

    @field_validator("repo_path", "sqlite_path", mode="after")
    @classmethod
    def _absolute_path(cls, value: Path) -> Path:
        return value.absolute()


class MlflowSettings(_Section):
    tracking_uri: str = Field(description="MLflow tracking URI: a sqlite:/// URL locally, a server URL elsewhere.")
    registry_uri: str | None = Field(None, description="Model registry URI; None means the tracking URI.")
    artifact_location: str | None = Field(None, description="Artifact root for new experiments (e.g. s3://...).")
    experiment_name: str = Field("riskloop-fraud", description="Experiment the training runs log to.")
    model_name: str = Field("riskloop-fraud", description="Registered model name.")
    champion_alias: str = Field("champion", description="Alias of the model version that serves.")


class AirflowSettings(_Section):
    feature_engineering_schedule: str = Field("@hourly", description="Schedule of feature_engineering_pipeline.")
    model_training_schedule: str = Field("@weekly", description="Schedule of model_training_pipeline.")
    monitoring_schedule: str = Field("@daily", description="Schedule of ml_monitoring_pipeline.")
    drift_threshold: float = Field(0.3, gt=0, description="Drift score at or above which retraining starts.")


class FraudApiSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the fraud API listens on.")
    port: int = Field(3000, ge=1, le=65535, description="Port the fraud API listens on.")
    url: str = Field("http://127.0.0.1:3000", description="Base URL other components reach the fraud API at.")
    admin_token: SecretStr = Field(description="Bearer token required by /admin/reload.")
    max_batch_size: int = Field(256, ge=1, le=10_000, description="Most transactions one /predict call may carry.")
    reasons_top_k: int = Field(3, ge=0, le=50, description="Reasons (largest SHAP contributions) per score.")
    reload_poll_seconds: float = Field(
        1.0, gt=0, description="How often each worker checks whether another worker reloaded the model."
    )
    reload_wait_seconds: float = Field(
        30.0, gt=0, le=50, description="How long /admin/reload waits for every worker to serve the new model."
    )
    redis_timeout_seconds: float = Field(
        0.05, gt=0, description="Connect and read timeout to the online store; past it a score is degraded."
    )
    redis_retry_seconds: float = Field(
        1.0, gt=0, description="After the online store failed, how long scores stay degraded before retrying it."
    )
    predictions_queue_size: int = Field(
        10_000, ge=1, description="Scores waiting for the predictions topic; past it new ones are dropped."
    )
    predictions_flush_seconds: float = Field(
        0.25,
        gt=0,
        le=10,
        description="How often waiting scores are sent to the predictions topic, so how late they may reach it. "
        "Each send costs the worker about a millisecond of CPU on top of what its records cost.",
    )
    publish_predictions: bool = Field(True, description="Publish every score to kafka.predictions_topic.")


class PricingApiSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the pricing API listens on.")
    port: int = Field(3001, ge=1, le=65535, description="Port the pricing API listens on.")
    min_price_multiplier: float = Field(0.8, gt=0, description="Lowest multiplier of the base price offered.")
    max_price_multiplier: float = Field(1.5, gt=0, description="Highest multiplier of the base price offered.")
    price_multipliers: tuple[float, ...] = Field(
        (0.8, 0.9, 1.0, 1.1, 1.25, 1.5),
        min_length=1,
        description="Arms the policy chooses among, as multipliers of the base price; clipped to [min, max].",
    )
    redis_key_prefix: str = Field(
        "riskloop:pricing", min_length=1, description="Prefix of the Redis keys holding the pricing posteriors."
    )
    redis_timeout_seconds: float = Field(
        0.25, gt=0, description="Connect and read timeout to Redis; past it /recommend answers degraded."
    )
    feature_timeout_seconds: float = Field(
        0.5, gt=0, description="Longest wait for an event's online features before pricing on the default segment."
    )
    feature_backoff_seconds: float = Field(
        5.0, ge=0, description="After a failed feature lookup, price on the default segment this long without trying."
    )


class RiskloopSettings(BaseSettings):
    """Everything a Riskloop process needs to reach its dependencies."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
    )

    environment: Environment = Field(description="Preset: local, compose or production.")
    data_dir: Path = Field(Path("var"), description="Folder for local state (SQLite files, logs, reports).")
    postgres: PostgresSettings
    redis: RedisSettings
    s3: S3Settings
    kafka: KafkaSettings
    feast: FeastSettings
    mlflow: MlflowSettings
    airflow: AirflowSettings = AirflowSettings()
    fraud_api: FraudApiSettings
    pricing_api: PricingApiSettings = PricingApiSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The preset arrives as init kwargs; the environment must win over it, so it comes first.
        return env_settings, dotenv_settings, file_secret_settings, init_settings


class InvalidSettings(Exception):
    """Settings that cannot start a process; the message names each variable and what it expects."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid Riskloop configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _variable_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in loc)


def _describe(error: Mapping[str, Any]) -> str:
    variable = _variable_name(tuple(error["loc"]))
    if error["type"] == "missing":
        return f"{variable} is not set: it is required in this environment"
    if error["type"] == "extra_forbidden":
        return f"{variable} is not a known setting"
    shown = error.get("input")
    return f"{variable}={shown!r} is invalid: {error['msg']}"


def environment_from(environ: Mapping[str, str]) -> Environment:
    raw = environ.get(ENV_PREFIX + "ENVIRONMENT") or environ.get("ENVIRONMENT") or Environment.LOCAL.value
    try:
        return Environment(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise InvalidSettings([f"ENVIRONMENT={raw!r} is invalid: expected one of {allowed}"]) from None


def load_settings() -> RiskloopSettings:
    """Build the settings for this process from its environment.

    Raises `InvalidSettings` listing every bad or missing variable at once.
    """
    import os

    from riskloop_config.presets import preset_for

    environment = environment_from(os.environ)
    try:
        return RiskloopSettings(**preset_for(environment))
    except ValidationError as exc:
        raise InvalidSettings([_describe(e) for e in exc.errors()]) from None


def settings_or_exit() -> RiskloopSettings:
    """`load_settings` for entry points: a bad configuration prints one message and exits with status 2."""
    import sys

    try:
        return load_settings()
    except InvalidSettings as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None

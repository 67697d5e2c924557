"""The Feast store configuration, built from FeastSettings so that no code depends on the working directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from riskloop_config.settings import FeastSettings, RedisSettings

if TYPE_CHECKING:
    from feast import FeatureStore
    from feast.repo_config import RepoConfig


class MissingRedisSettings(ValueError):
    """online_store=redis was configured without the Redis settings to reach it."""


def _is_sql_url(registry: str) -> bool:
    return "://" in registry and not registry.startswith(("file://", "s3://", "gs://"))


def feature_store_config(
    feast: FeastSettings, *, redis: RedisSettings | None = None, repo_path: Path | None = None
) -> RepoConfig:
    """A RepoConfig: SQLite or Redis online store, file or SQL registry, Dask (Parquet) offline store."""
    from feast.repo_config import RepoConfig

    if feast.online_store == "redis":
        if redis is None:
            raise MissingRedisSettings("online_store=redis needs RedisSettings")
        online: dict[str, object] = {"type": "redis", "connection_string": redis.feast_connection_string}
    else:
        online = {"type": "sqlite", "path": str(Path(feast.sqlite_path).resolve())}
    if _is_sql_url(feast.registry):
        # The SQL registry keeps every project in the same tables; a short cache keeps servers current.
        registry: object = {"registry_type": "sql", "path": feast.registry, "cache_ttl_seconds": 60}
    else:
        registry = {"registry_type": "file", "path": str(Path(feast.registry).resolve()), "cache_ttl_seconds": 60}
    return RepoConfig(
        project=feast.project,
        provider="local",
        registry=registry,
        online_store=online,
        offline_store={"type": "dask"},
        entity_key_serialization_version=3,
        repo_path=Path(repo_path or feast.repo_path).resolve(),
    )


def feature_store(feast: FeastSettings, *, redis: RedisSettings | None = None) -> FeatureStore:
    """A FeatureStore over `feature_store_config` (local folders are created as needed)."""
    from feast import FeatureStore

    for path in (feast.sqlite_path, feast.registry):
        if feast.online_store == "sqlite" or not _is_sql_url(str(path)):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=feature_store_config(feast, redis=redis))

"""How tests and benchmarks start this worker as a real subprocess: its environment, one place."""

from __future__ import annotations

from pathlib import Path

from riskloop_config.settings import FeastSettings, KafkaSettings, RedisSettings
from riskloop_streaming.testing import kafka_env
from riskloop_testing.services import subprocess_env


def worker_env(kafka: KafkaSettings, feast: FeastSettings, redis: RedisSettings, root: Path) -> dict[str, str]:
    return {
        **subprocess_env(),
        "RISKLOOP_ENVIRONMENT": "local",
        "RISKLOOP_DATA_DIR": str(root),
        **kafka_env(kafka),
        "RISKLOOP_REDIS__HOST": redis.host,
        "RISKLOOP_REDIS__PORT": str(redis.port),
        "RISKLOOP_REDIS__DB": str(redis.db),
        "RISKLOOP_FEAST__ONLINE_STORE": "redis",
        "RISKLOOP_FEAST__REGISTRY": feast.registry,
        "RISKLOOP_FEAST__OFFLINE_ROOT": feast.offline_root,
        "RISKLOOP_S3__BACKEND": "local",
        "RISKLOOP_S3__LOCAL_ROOT": str(root / "objects"),
    }

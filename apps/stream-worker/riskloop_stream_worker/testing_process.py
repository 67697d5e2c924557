"""How tests and benchmarks start this worker as a real subprocess: its environment, one place."""

from __future__ import annotations

import os
from pathlib import Path

from riskloop_config.settings import FeastSettings, KafkaSettings, RedisSettings
from riskloop_testing.services import python_path_for_subprocess


def worker_env(kafka: KafkaSettings, feast: FeastSettings, redis: RedisSettings, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": python_path_for_subprocess(),
        "RISKLOOP_ENVIRONMENT": "local",
        "RISKLOOP_DATA_DIR": str(root),
        "RISKLOOP_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RISKLOOP_KAFKA__EMBEDDED_BROKER": "false",
        "RISKLOOP_KAFKA__RAW_TRANSACTIONS_TOPIC": kafka.raw_transactions_topic,
        "RISKLOOP_KAFKA__DEAD_LETTER_TOPIC": kafka.dead_letter_topic,
        "RISKLOOP_KAFKA__LABELS_TOPIC": kafka.labels_topic,
        "RISKLOOP_KAFKA__PREDICTIONS_TOPIC": kafka.predictions_topic,
        "RISKLOOP_KAFKA__PARTITIONS": str(kafka.partitions),
        "RISKLOOP_REDIS__HOST": redis.host,
        "RISKLOOP_REDIS__PORT": str(redis.port),
        "RISKLOOP_REDIS__DB": str(redis.db),
        "RISKLOOP_FEAST__ONLINE_STORE": "redis",
        "RISKLOOP_FEAST__REGISTRY": feast.registry,
        "RISKLOOP_FEAST__OFFLINE_ROOT": feast.offline_root,
        "RISKLOOP_S3__BACKEND": "local",
        "RISKLOOP_S3__LOCAL_ROOT": str(root / "objects"),
    }

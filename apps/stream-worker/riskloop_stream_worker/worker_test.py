"""The worker as it runs in production (a subprocess), on the real broker and Redis: killed mid-stream and
restarted, it serves the same features as a batch recompute over every event."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from riskloop_config.settings import FeastSettings, KafkaSettings, RedisSettings
from riskloop_features.definitions import feature_definitions
from riskloop_features.store import feature_store
from riskloop_features.testing_events import catalog_table
from riskloop_features.windows import (
    EVENT_REALTIME_WINDOWS,
    USER_REALTIME_WINDOWS,
    WindowSpec,
    value_as_of,
    window_feature_changes,
)
from riskloop_stream_worker.catalog import CATALOG_PATH
from riskloop_stream_worker.testing_process import worker_env
from riskloop_streaming.dead_letters import dead_letter_from_headers
from riskloop_streaming.decoding import transactions_table
from riskloop_streaming.testing import (
    fresh_kafka_settings,
    produce_raw,
    produce_transactions,
    read_topic,
    sample_transaction,
)
from riskloop_streaming.topics import ensure_topics
from riskloop_testing.services import KafkaBroker, RedisDatabase

USERS, EVENTS = 40, 7
CAPACITIES = {f"e{i:04d}": 10_000 + 100 * i for i in range(EVENTS)}


@dataclass(frozen=True)
class Deployment:
    kafka: KafkaSettings
    feast: FeastSettings
    redis: RedisSettings
    env: dict[str, str]
    log: Path

    def start_worker(self) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "riskloop_stream_worker", "run", "--metrics-port", "0"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


@pytest.fixture
def deployment(kafka_broker: KafkaBroker, redis_database: RedisDatabase, tmp_path: Path) -> Iterator[Deployment]:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=3)
    ensure_topics(kafka)
    feast = FeastSettings(
        online_store="redis", registry=str(tmp_path / "registry.db"), offline_root=str(tmp_path / "offline")
    )
    redis = RedisSettings(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    feature_store(feast, redis=redis).apply(feature_definitions(feast.offline_root).objects())
    catalog_file = tmp_path / "objects" / "raw-events" / CATALOG_PATH
    catalog_file.parent.mkdir(parents=True)
    pq.write_table(catalog_table(CAPACITIES), catalog_file)
    env = worker_env(kafka, feast, redis, tmp_path)
    yield Deployment(kafka, feast, redis, env, tmp_path / "worker.log")


def purchases(now: datetime, first: int, count: int) -> list[dict[str, Any]]:
    """Every window value stays put for minutes after `now`: arrivals are in the past, and no 1 h or 24 h
    window expires before now + 10 min. (Event 5 min windows do expire: only inventory is compared.)"""
    out = []
    for i in range(first, first + count):
        at = (
            now - timedelta(hours=23) + timedelta(seconds=i)
            if i % 10 == 0
            else now - timedelta(minutes=50) + timedelta(milliseconds=900 * i)
        )
        out.append(sample_transaction(i, at=at, users=USERS, events=EVENTS))
    return out


def online_values(store: Any, spec: WindowSpec, keys: list[str], features: list[str]) -> dict[str, dict[str, Any]]:
    response = store.get_online_features(
        features=[f"{spec.view}:{f}" for f in features], entity_rows=[{spec.entity: k} for k in keys]
    ).to_dict()
    return {key: {f: response[f][i] for f in features} for i, key in enumerate(response[spec.entity])}


def expected_values(
    records: list[dict[str, Any]], spec: WindowSpec, keys: list[str], features: list[str], at: datetime
) -> dict[str, dict[str, Any]]:
    catalog = catalog_table(CAPACITIES) if spec.uses_catalog else None
    changes = window_feature_changes(transactions_table(records), spec, catalog=catalog)
    out = {}
    for key in keys:
        row = value_as_of(changes, spec.entity, key, at)
        out[key] = {f: None if row is None else row[f] for f in features}
    return out


def test_a_worker_killed_mid_stream_restarts_to_the_batch_values(deployment: Deployment) -> None:
    kafka, now = deployment.kafka, datetime.now(UTC)
    first, rest = purchases(now, 0, 1500), purchases(now, 1500, 1500)
    produce_transactions(kafka, first)
    store = feature_store(deployment.feast, redis=deployment.redis)
    users = sorted({r["user_id"] for r in first + rest})
    user_features = [f.name for f in USER_REALTIME_WINDOWS.features]

    worker = deployment.start_worker()
    try:
        deadline = time.monotonic() + 60
        while all(
            v["user_txn_count_1h"] is None
            for v in online_values(store, USER_REALTIME_WINDOWS, users, user_features).values()
        ):
            assert worker.poll() is None and time.monotonic() < deadline, deployment.log.read_text()[-3000:]
            time.sleep(0.3)

        def produce_the_rest() -> None:
            for start in range(0, len(rest), 100):
                produce_transactions(kafka, rest[start : start + 100])
                time.sleep(0.05)

        producing = threading.Thread(target=produce_the_rest)
        producing.start()
        time.sleep(0.4)
        worker.send_signal(signal.SIGKILL)  # mid-stream: no flush, no commit, no goodbye
        worker.wait(timeout=10)
        producing.join(timeout=60)
        produce_raw(
            kafka, kafka.raw_transactions_topic, [(b"u00001", b"{poison"), (b"u00002", b'{"user_id": "u00002"}')]
        )

        worker = deployment.start_worker()
        everything = first + rest
        events = sorted(CAPACITIES)
        deadline = time.monotonic() + 120
        while True:
            at = datetime.now(UTC)
            want_users = expected_values(everything, USER_REALTIME_WINDOWS, users, user_features, at)
            got_users = online_values(store, USER_REALTIME_WINDOWS, users, user_features)
            want_events = expected_values(everything, EVENT_REALTIME_WINDOWS, events, ["current_inventory"], at)
            got_events = online_values(store, EVENT_REALTIME_WINDOWS, events, ["current_inventory"])
            if got_users == want_users and got_events == want_events:
                break
            assert worker.poll() is None, deployment.log.read_text()[-3000:]
            if time.monotonic() > deadline:
                wrong = {u: (got_users[u], want_users[u]) for u in users if got_users[u] != want_users[u]}
                examples = list(wrong.items())[:3]
                pytest.fail(f"online store differs from the batch recompute for {len(wrong)} users, e.g. {examples}")
            time.sleep(0.5)
        # The poison messages came after the kill: the restarted worker's live reading dead-letters them
        # (once the group has let the killed member's partitions go).
        letters = [
            dead_letter_from_headers(m.value, m.key, m.headers)
            for m in read_topic(kafka, kafka.dead_letter_topic, expected=2, timeout=90)
        ]
    finally:
        worker.kill()
        worker.wait(timeout=10)

    assert sorted(letter.kind for letter in letters) == ["bad_json", "missing_field"]

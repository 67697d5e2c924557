"""The fast writer against Feast itself, on the machine's Redis: the same rows written by
`FeatureStore.write_to_online_store` and by `RedisOnlineWriter` must leave byte-identical hashes, and Feast's
online read must return what was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import redis

from riskloop_config.settings import RedisSettings
from riskloop_features.online_writer import RedisOnlineWriter
from riskloop_features.testing_events import local_store
from riskloop_features.windows import EVENT_REALTIME_WINDOWS, USER_REALTIME_WINDOWS, WindowSpec
from riskloop_testing.services import RedisDatabase

PROJECT = "writer_test"
AT = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


def rows_for(spec: WindowSpec) -> pa.Table:
    """Rows of the view's real output schema: ordinary, zero, negative and null values, odd ids."""
    schema = spec.output_schema
    ids = ["a", "ünïcode-id", "x" * 300, "0"]
    columns: dict[str, list[Any]] = {spec.entity: ids, "event_timestamp": [AT + timedelta(seconds=i) for i in range(4)]}
    columns["event_timestamp"][3] = datetime(2026, 5, 4, tzinfo=UTC)  # whole seconds: no nanos field
    for feature in spec.features:
        if pa.types.is_floating(feature.arrow_type):
            columns[feature.name] = [410.25, 0.0, -3.5e-7, None]
        else:
            columns[feature.name] = [4, 0, -2, None]
    return pa.Table.from_pydict(columns, schema=schema)


@pytest.fixture
def store(tmp_path: Path, redis_database: RedisDatabase) -> Any:
    redis_settings = RedisSettings(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    return local_store(tmp_path, redis=redis_settings, project=PROJECT)[0]


def dump(client: redis.Redis) -> dict[bytes, dict[bytes, bytes]]:
    return {key: client.hgetall(key) for key in client.scan_iter()}


@pytest.mark.parametrize("spec", [USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS], ids=lambda s: s.view)
def test_the_writer_stores_the_bytes_feast_stores(store: Any, redis_database: RedisDatabase, spec: WindowSpec) -> None:
    client = redis.Redis(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    rows = rows_for(spec)
    store.write_to_online_store(spec.view, rows.to_pandas())
    by_feast = dump(client)
    client.flushdb()

    RedisOnlineWriter(client, project=PROJECT, commands_per_round_trip=3).write(spec.view, rows, join_key=spec.entity)
    by_us = dump(client)

    assert len(by_feast) == rows.num_rows
    assert by_us == by_feast


def test_feast_reads_back_what_the_writer_wrote(store: Any, redis_database: RedisDatabase) -> None:
    spec = USER_REALTIME_WINDOWS
    rows = rows_for(spec)
    client = redis.Redis(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    RedisOnlineWriter(client, project=PROJECT).write(spec.view, rows, join_key=spec.entity)

    names = [f.name for f in spec.features]
    read = store.get_online_features(
        features=[f"{spec.view}:{name}" for name in names],
        entity_rows=[{spec.entity: key} for key in rows.column(spec.entity).to_pylist()],
    ).to_dict()
    for name in names:
        assert read[name] == rows.column(name).to_pylist(), name


def test_an_empty_table_writes_nothing(redis_database: RedisDatabase) -> None:
    client = redis.Redis(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    spec = USER_REALTIME_WINDOWS
    RedisOnlineWriter(client, project=PROJECT).write(spec.view, spec.output_schema.empty_table(), join_key=spec.entity)
    assert dump(client) == {}

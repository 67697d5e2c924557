from __future__ import annotations

import time

import pytest
import redis

from riskloop_config.settings import RedisSettings
from riskloop_features.names import EVENT_REALTIME_VIEW, USER_BEHAVIOR_VIEW, USER_REALTIME_VIEW
from riskloop_scoring.online import FeatureRef, RedisFeatureReader, UnknownFeatureView
from riskloop_scoring.testing_models import PrivateRedis, write_default_features
from riskloop_testing.services import RedisDatabase, free_port

COUNT = FeatureRef(USER_REALTIME_VIEW, "user_txn_count_1h")
AMOUNT = FeatureRef(USER_REALTIME_VIEW, "user_txn_amount_1h")
CATEGORY = FeatureRef(USER_BEHAVIOR_VIEW, "preferred_category")
INVENTORY = FeatureRef(EVENT_REALTIME_VIEW, "current_inventory")
REFS = (COUNT, AMOUNT, CATEGORY, INVENTORY)


def _entity(user: str, event: str) -> dict[str, str]:
    return {"user_id": user, "event_id": event, "promoter_id": "p1"}


def _settings(db: RedisDatabase) -> RedisSettings:
    return RedisSettings(host=db.host, port=db.port, db=db.db)


class _CountingConnection(redis.Connection):
    """Counts what is written to Redis: one write is one round trip."""

    writes = 0

    def send_packed_command(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _CountingConnection.writes += 1
        return super().send_packed_command(*args, **kwargs)


def test_reads_what_feasts_writer_wrote_for_a_whole_batch_in_one_round_trip(redis_database: RedisDatabase) -> None:
    write_default_features(_settings(redis_database), project="riskloop")
    reader = RedisFeatureReader(_settings(redis_database), project="riskloop")
    pool = redis.ConnectionPool(
        host=redis_database.host, port=redis_database.port, db=redis_database.db, connection_class=_CountingConnection
    )
    reader._client = redis.Redis(connection_pool=pool)
    entities = [_entity("u1", "e1"), _entity("u3", "e2"), _entity("u1", "e2"), _entity("u2", "e1")]
    reader.read(entities, REFS)  # connects: the handshake's commands are not the read's
    before = _CountingConnection.writes
    read = reader.read(entities, REFS)
    assert _CountingConnection.writes - before == 1
    assert not read.degraded
    assert read.rows[0] == {COUNT: 9, AMOUNT: 1800.0, CATEGORY: "concert", INVENTORY: 120}
    assert read.rows[1] == dict.fromkeys(REFS)
    assert read.rows[2] == {COUNT: 9, AMOUNT: 1800.0, CATEGORY: "concert", INVENTORY: None}
    assert read.rows[3] == {COUNT: 0, AMOUNT: 0.0, CATEGORY: "sports", INVENTORY: 120}


def test_another_project_sees_nothing(redis_database: RedisDatabase) -> None:
    write_default_features(_settings(redis_database), project="riskloop")
    read = RedisFeatureReader(_settings(redis_database), project="other").read([_entity("u1", "e1")], REFS)
    assert read.rows[0] == dict.fromkeys(REFS)


def test_unknown_views_are_refused_up_front(redis_database: RedisDatabase) -> None:
    with pytest.raises(UnknownFeatureView, match="mystery_view"):
        RedisFeatureReader(_settings(redis_database), project="riskloop").check([FeatureRef("mystery_view", "x")])


def test_redis_unreachable_degrades_quickly() -> None:
    reader = RedisFeatureReader(RedisSettings(host="127.0.0.1", port=free_port()), project="riskloop")
    started = time.monotonic()
    read = reader.read([_entity("u1", "e1")], REFS)
    assert read.degraded and read.rows[0] == dict.fromkeys(REFS)
    assert time.monotonic() - started < 1.0


def test_degrades_while_redis_is_down_and_recovers_by_itself() -> None:
    with PrivateRedis() as store:
        write_default_features(store.settings, project="riskloop")
        reader = RedisFeatureReader(store.settings, project="riskloop", retry_seconds=2.0)
        assert reader.read([_entity("u1", "e1")], REFS).rows[0][COUNT] == 9
        store.stop()
        failed_at = time.monotonic()
        assert reader.read([_entity("u1", "e1")], REFS).degraded
        store.start()
        write_default_features(store.settings, project="riskloop")  # an empty new server: fill it again
        if time.monotonic() - failed_at < 1.5:
            # Still inside the back-off: Redis is not even tried, so still degraded.
            assert reader.read([_entity("u1", "e1")], REFS).degraded
        time.sleep(max(0.0, failed_at + 2.1 - time.monotonic()))
        read = reader.read([_entity("u1", "e1")], REFS)
        assert not read.degraded and read.rows[0][COUNT] == 9

"""Online features for a whole batch in one Redis round trip, read straight from Feast's Redis layout.

Feast's own `get_online_features` costs milliseconds of Python per call (and importing feast seconds per
worker); the fraud API's latency budget has no room for either. So this reads the hashes Feast's Redis
online store writes (`layout.py`: Feast's key, field and value encodings) in one pipeline of HMGETs.
`online_test.py` checks it against data written by Feast's own writer.

Redis being down is not an error for scoring: every feature comes back missing with `degraded=True`,
and after `retry_seconds` the next read tries Redis again, so the reader recovers by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from riskloop_config.settings import RedisSettings
from riskloop_features.names import (
    EVENT_HISTORICAL_VIEW,
    EVENT_KEY,
    EVENT_REALTIME_VIEW,
    PROMOTER_KEY,
    USER_BEHAVIOR_VIEW,
    USER_KEY,
    USER_REALTIME_VIEW,
)
from riskloop_features.online_layout import decode_value, entity_key, field_name

# Join keys of each feature view, as in riskloop_features.definitions (kept here because importing those
# definitions imports feast; `online_feast_test.py` fails if the two ever differ).
DEFAULT_VIEW_JOIN_KEYS: Mapping[str, tuple[str, ...]] = {
    USER_REALTIME_VIEW: (USER_KEY,),
    USER_BEHAVIOR_VIEW: (USER_KEY,),
    EVENT_REALTIME_VIEW: (EVENT_KEY,),
    EVENT_HISTORICAL_VIEW: (EVENT_KEY, PROMOTER_KEY),
}


class UnknownFeatureView(KeyError):
    """A model asks for a feature of a view whose join keys this reader does not know."""


@dataclass(frozen=True)
class FeatureRef:
    view: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.view}:{self.name}"


@dataclass(frozen=True)
class OnlineRead:
    # One mapping per entity row: feature -> value, None where the store has nothing.
    rows: tuple[Mapping[FeatureRef, Any], ...]
    degraded: bool


class RedisFeatureReader:
    """Reads Feast's Redis online store directly. Thread-safe (redis-py's pool is)."""

    def __init__(
        self,
        settings: RedisSettings,
        *,
        project: str,
        view_join_keys: Mapping[str, tuple[str, ...]] = DEFAULT_VIEW_JOIN_KEYS,
        timeout_seconds: float = 0.05,
        retry_seconds: float = 1.0,
    ) -> None:
        self._client = redis.Redis(
            host=settings.host,
            port=settings.port,
            db=settings.db,
            password=settings.password.get_secret_value() or None,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            max_connections=64,
            # redis-py retries a refused connection with back-off for seconds by default; a score cannot
            # wait that long, and the reader's own back-off (retry_seconds) decides when to try again.
            retry=Retry(NoBackoff(), 0),
        )
        self._project = project
        self._view_join_keys = dict(view_join_keys)
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        self._lock = threading.Lock()

    def check(self, refs: Sequence[FeatureRef]) -> None:
        """Raise `UnknownFeatureView` if a feature's view has no known join keys (checked at model load)."""
        unknown = sorted({r.view for r in refs} - set(self._view_join_keys))
        if unknown:
            raise UnknownFeatureView(f"no join keys known for feature views {unknown}")

    def _redis_key(self, view: str, entity: Mapping[str, str]) -> bytes:
        keys = self._view_join_keys[view]
        return entity_key(keys, [entity[k] for k in keys], project=self._project)

    def read(self, entities: Sequence[Mapping[str, str]], refs: Sequence[FeatureRef]) -> OnlineRead:
        """Values of `refs` for every entity row, in one pipeline; all None and degraded if Redis is down."""
        if not refs or not entities:
            return OnlineRead(tuple({} for _ in entities), degraded=False)
        if time.monotonic() < self._down_until:
            return self._all_missing(entities, refs)
        by_view: dict[str, list[FeatureRef]] = {}
        for ref in refs:
            by_view.setdefault(ref.view, []).append(ref)
        # One HMGET per distinct (view, entity key): rows of one user share its hash.
        commands: dict[tuple[str, bytes], list[bytes]] = {}
        row_keys: list[dict[str, bytes]] = []
        for entity in entities:
            keys = {}
            for view, view_refs in by_view.items():
                key = self._redis_key(view, entity)
                keys[view] = key
                commands.setdefault((view, key), [field_name(r.view, r.name) for r in view_refs])
            row_keys.append(keys)
        try:
            replies = self._round_trip([("HMGET", key, *fields) for (_, key), fields in commands.items()])
        except (redis.exceptions.RedisError, OSError):
            with self._lock:
                self._down_until = time.monotonic() + self._retry_seconds
            return self._all_missing(entities, refs)
        decoded: dict[tuple[str, bytes], dict[FeatureRef, Any]] = {}
        for (view, key), reply in zip(commands, replies, strict=True):
            decoded[(view, key)] = {ref: decode_value(raw) for ref, raw in zip(by_view[view], reply, strict=True)}
        rows = []
        for keys in row_keys:
            row: dict[FeatureRef, Any] = {}
            for view, key in keys.items():
                row.update(decoded[(view, key)])
            rows.append(row)
        return OnlineRead(tuple(rows), degraded=False)

    def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Every command's reply, sent and read on one connection in one round trip: what a redis-py
        pipeline does, without its bookkeeping (~30 µs of a request's CPU)."""
        pool = self._client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            return [connection.read_response() for _ in commands]
        except BaseException:
            connection.disconnect()  # a reply left unread would answer the next request on this connection
            raise
        finally:
            pool.release(connection)

    def _all_missing(self, entities: Sequence[Mapping[str, str]], refs: Sequence[FeatureRef]) -> OnlineRead:
        return OnlineRead(tuple(dict.fromkeys(refs) for _ in entities), degraded=True)

    def close(self) -> None:
        self._client.close()


"""Where feature rows go: the online store, one write per view and refresh."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pyarrow as pa

from riskloop_features.online_writer import RedisOnlineWriter


class OnlineWriter(Protocol):
    def write(self, view: str, rows: pa.Table) -> None:
        """Upsert `rows` (the view's entity column, event_timestamp, features) into the online store."""


class FeastOnlineWriter:
    """Writes through Feast's `write_to_online_store`: any online store Feast supports (sqlite locally)."""

    def __init__(self, store: object) -> None:
        self._store = store

    def write(self, view: str, rows: pa.Table) -> None:
        if rows.num_rows:
            self._store.write_to_online_store(view, rows.to_pandas())  # type: ignore[attr-defined]


class RedisLayoutWriter:
    """Writes Feast's Redis layout directly: the same bytes as Feast's write, about 10x faster."""

    def __init__(self, writer: RedisOnlineWriter, join_keys: Mapping[str, str]) -> None:
        self._writer = writer
        self._join_keys = dict(join_keys)

    def write(self, view: str, rows: pa.Table) -> None:
        self._writer.write(view, rows, join_key=self._join_keys[view])

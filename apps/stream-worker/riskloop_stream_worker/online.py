"""Where feature rows go: the Feast online store, one `write_to_online_store` per view and refresh."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa


class OnlineWriter(Protocol):
    def write(self, view: str, rows: pa.Table) -> None:
        """Upsert `rows` (the view's entity column, event_timestamp, features) into the online store."""


class FeastOnlineWriter:
    """Writes through Feast so the entity keys are serialized exactly as serving reads them."""

    def __init__(self, store: object) -> None:
        self._store = store

    def write(self, view: str, rows: pa.Table) -> None:
        if rows.num_rows:
            self._store.write_to_online_store(view, rows.to_pandas())  # type: ignore[attr-defined]

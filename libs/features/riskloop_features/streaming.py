"""Window features from a stream of purchases, for the online store: tiles combined at read time.

`StreamingWindowAggregator` keeps, per entity, the running value of every aggregate and the partial
aggregates of its tiles still inside a window, filed by the moment they leave it (windows.py defines the
tiles and that moment). A refresh adds the new purchases, takes out the tiles whose exit has passed and
returns the entities that changed. So its cost follows what changed since the last refresh, not how much
history the windows hold, and its memory is bounded by active entities x tiles (61 per window), not by
events: entities whose tiles have all left are forgotten in sweeps (after `sweep_every` new entities).

A tile leaving changes every entity that bought in it at once (up to every user, each 24 minutes), so a
caller that must keep new purchases fresh passes `aging_limit`: entities changed only by aging are then
returned at most that many per call, longest-waiting first, with their values as of that later call.

Batch and stream agree to the bit: both take the tile exits and the value of each event
(`aggregate_value_sql`) from windows.py and compute the features with `window_values`. Only the summing
differs, because the batch job needs the value at every change point (cumulative sums over all events)
and the stream only the value now (add what enters, subtract what leaves); streaming_test holds them
equal at every query.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskloop_features import sql
from riskloop_features.names import TIMESTAMP_FIELD
from riskloop_features.transactions import TIMESTAMP, TRANSACTION_SCHEMA
from riskloop_features.windows import (
    Aggregation,
    WindowAggregate,
    WindowSpec,
    aggregate_value_sql,
    catalog_capacity,
    to_micros,
    window_values,
)

_SNAPSHOT_FORMAT = 2


class QueryWentBackwards(ValueError):
    """`features_as_of` was asked for a moment before the previous query: values already emitted would be wrong."""


class SnapshotMismatch(ValueError):
    """A snapshot taken for one feature view (or by another version of this code) was restored here."""


@dataclass(frozen=True)
class AggregatorStats:
    tiles: int  # partial aggregates held until they leave their window
    entities: int
    queried_until: datetime | None
    aging_backlog: int  # entities whose value aged since it was last returned (held back by `aging_limit`)


@dataclass(frozen=True)
class _TileGroup:
    """Aggregates whose tiles leave together: the counts and sums of one window, or one distinct count."""

    aggregates: tuple[WindowAggregate, ...]

    @property
    def distinct(self) -> WindowAggregate | None:
        first = self.aggregates[0]
        return first if first.kind is Aggregation.COUNT_DISTINCT else None


def _sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys (sorted) and the column sums of their rows."""
    if len(keys) == 0:
        return keys, values
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.add.reduceat(values, starts, axis=0)


@dataclass
class _Tiles:
    """Partial aggregates (key -> summed values) that leave at one moment. New ones arrive every refresh;
    runs are merged when a newer one grows to half the size of the one before (amortised n log n)."""

    runs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.runs.append(_sum_by_key(keys, values))
        while len(self.runs) > 1 and 2 * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            newer, older = self.runs.pop(), self.runs.pop()
            self.runs.append(_sum_by_key(np.concatenate([older[0], newer[0]]), np.concatenate([older[1], newer[1]])))

    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.runs) == 1:
            return self.runs[0]
        return _sum_by_key(np.concatenate([r[0] for r in self.runs]), np.concatenate([r[1] for r in self.runs]))

    def __len__(self) -> int:
        return sum(len(r[0]) for r in self.runs)


class _Codes:
    """Strings to dense integer codes, growing as new strings arrive; forgotten codes are reused."""

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self.names: list[str | None] = []
        self.free: list[int] = []
        self.assigned = 0  # codes handed to new strings since the caller last reset it

    def encode(self, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        uniques = pc.unique(column)
        codes = np.empty(len(uniques), np.int64)
        for i, name in enumerate(uniques.to_pylist()):
            code = self.code.get(name)
            if code is None:
                if self.free:
                    code = self.free.pop()
                    self.names[code] = name
                else:
                    code = len(self.names)
                    self.names.append(name)
                self.code[name] = code
                self.assigned += 1
            codes[i] = code
        return codes[pc.index_in(column, value_set=uniques).to_numpy()]

    def forget(self, codes: np.ndarray) -> list[int]:
        """Free the codes among `codes` still in use; returns those."""
        freed = []
        for code in codes.tolist():
            name = self.names[code]
            if name is not None:
                del self.code[name]
                self.names[code] = None
                freed.append(code)
        self.free.extend(freed)
        return freed

    def __len__(self) -> int:
        return len(self.code)


_LOW_32 = (1 << 32) - 1


class StreamingWindowAggregator:
    """Incremental window features for one `WindowSpec` (e.g. USER_REALTIME_WINDOWS).

    `add` batches of TRANSACTION_SCHEMA records in any order; `features_as_of(now)` returns one row per
    entity whose value changed since the previous call (new events, or tiles aging out), with the value
    as of `now` and the time it took that value. Events stamped at or after `now` wait for a later query.
    """

    def __init__(self, spec: WindowSpec, *, catalog: pa.Table | None = None, sweep_every: int = 100_000) -> None:
        self.spec = spec
        self.catalog = catalog
        self._sweep_every = sweep_every
        self._groups = self._tile_groups(spec)
        self._pending: list[pa.Table] = []
        self._queried_until_us: int | None = None
        self._entities = _Codes()
        self._distinct_values = {a.name: _Codes() for a in spec.aggregates if a.kind is Aggregation.COUNT_DISTINCT}
        self._totals = {a.name: np.zeros(0, np.int64) for a in spec.aggregates}
        self._last_change_us = np.zeros(0, np.int64)
        # (entity code << 32 | value code) -> events of that pair inside the window, per distinct aggregate.
        self._present: dict[str, dict[int, int]] = {name: {} for name in self._distinct_values}
        self._leaving: dict[int, dict[_TileGroup, _Tiles]] = {}
        self._aging: deque[np.ndarray] = deque()  # entity codes waiting to be returned, oldest first
        self._is_aging = np.zeros(0, bool)

    @staticmethod
    def _tile_groups(spec: WindowSpec) -> tuple[_TileGroup, ...]:
        plain = [a for a in spec.aggregates if a.kind is not Aggregation.COUNT_DISTINCT and a.window is not None]
        groups = [_TileGroup(tuple(a for a in plain if a.window == w)) for w in dict.fromkeys(a.window for a in plain)]
        groups += [_TileGroup((a,)) for a in spec.aggregates if a.kind is Aggregation.COUNT_DISTINCT]
        return tuple(groups)

    def _schema(self) -> pa.Schema:
        return pa.schema([TRANSACTION_SCHEMA.field(c) for c in self.spec.input_columns])

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Buffer purchase records (any column order; extra columns are ignored)."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows:
            self._pending.append(table.select(list(self.spec.input_columns)).cast(self._schema()))

    def features_as_of(self, now: datetime, *, aging_limit: int | None = None) -> pa.Table:
        """Rows (spec.output_schema) for every entity whose value changed since the previous call; with
        `aging_limit`, at most that many of those changed only by tiles leaving (the rest come later)."""
        if aging_limit is not None and aging_limit < 1:
            raise ValueError(f"aging_limit must be at least 1 (or None for no limit), not {aging_limit}")
        now_us = to_micros(now)
        if self._queried_until_us is not None and now_us < self._queried_until_us:
            raise QueryWentBackwards(f"asked for {now.isoformat()} after a query at a later moment")
        visible = self._take_visible(now_us)
        entered = self._enter(visible) if visible is not None else np.zeros(0, np.int64)
        left = self._leave(now_us)
        self._queried_until_us = now_us
        self._hold_aging(np.setdiff1d(left, entered))
        self._is_aging[entered] = False  # their value as of now goes out with this call
        aged = self._release_aging(aging_limit)
        values = self._values(np.union1d(entered, aged))
        if self._entities.assigned >= self._sweep_every:
            self._forget_idle()
        return values

    def _forget_idle(self) -> None:
        """Forget the entities (and distinct values) nothing refers to any more: no tile inside a window, no
        unbounded total, no aged value waiting. Their values are back to empty, so one that buys again
        starts from zero, as it would have; their codes are reused, so no tile needs renumbering."""
        live = np.zeros(len(self._entities.names), bool)
        live_values = {name: np.zeros(len(codes.names), bool) for name, codes in self._distinct_values.items()}
        for groups in self._leaving.values():
            for group, tiles in groups.items():
                for keys, _ in tiles.runs:
                    if group.distinct is None:
                        live[keys] = True
                    else:
                        live[keys >> 32] = True
                        live_values[group.distinct.name][keys & _LOW_32] = True
        for a in self.spec.aggregates:
            if a.window is None:
                live |= self._totals[a.name][: len(live)] != 0
        live |= self._is_aging[: len(live)]
        forgotten = self._entities.forget(np.flatnonzero(~live))
        self._last_change_us[forgotten] = 0
        for name, kept in live_values.items():
            self._distinct_values[name].forget(np.flatnonzero(~kept))
        self._entities.assigned = 0

    def _hold_aging(self, codes: np.ndarray) -> None:
        codes = codes[~self._is_aging[codes]]
        if len(codes):
            self._is_aging[codes] = True
            self._aging.append(codes)

    def _release_aging(self, limit: int | None) -> np.ndarray:
        released: list[np.ndarray] = []
        room = len(self._is_aging) if limit is None else limit
        while self._aging and room > 0:
            codes = self._aging.popleft()
            codes = codes[self._is_aging[codes]]
            if len(codes) > room:
                self._aging.appendleft(codes[room:])
                codes = codes[:room]
            self._is_aging[codes] = False
            released.append(codes)
            room -= len(codes)
        return np.concatenate(released) if released else np.zeros(0, np.int64)

    def _take_visible(self, now_us: int) -> pa.Table | None:
        # An event at ts counts from ts + 1 µs, so only those before `now` are in the values as of now.
        if not self._pending:
            return None
        pending = pa.concat_tables(self._pending)
        early = pc.less(pc.cast(pending.column(TIMESTAMP_FIELD), pa.int64()), now_us)
        later = pending.filter(pc.invert(early))
        self._pending = [later] if later.num_rows else []
        visible = pending.filter(early) if later.num_rows else pending
        return visible if visible.num_rows else None

    def _grow(self, size: int) -> None:
        if size <= len(self._last_change_us):
            return
        size = max(size, 2 * len(self._last_change_us), 1024)
        for name, totals in self._totals.items():
            self._totals[name] = np.concatenate([totals, np.zeros(size - len(totals), np.int64)])
        grown = size - len(self._last_change_us)
        self._last_change_us = np.concatenate([self._last_change_us, np.zeros(grown, np.int64)])
        self._is_aging = np.concatenate([self._is_aging, np.zeros(grown, bool)])

    def _enter(self, events: pa.Table) -> np.ndarray:
        codes = self._entities.encode(events.column(self.spec.entity))
        self._grow(len(self._entities.names))
        ts = pc.cast(events.column(TIMESTAMP_FIELD), pa.int64()).to_numpy()
        np.maximum.at(self._last_change_us, codes, ts + 1)
        plain = [a for a in self.spec.aggregates if a.kind is not Aggregation.COUNT_DISTINCT]
        with sql.connection() as connection:
            connection.register("ev", events)
            selected = ", ".join(f"{aggregate_value_sql(a)} AS {a.name}" for a in plain)
            values = connection.sql(f"SELECT {selected} FROM ev").to_arrow_table()
        value_of = {a.name: values.column(a.name).to_numpy() for a in plain}
        for a in plain:
            np.add.at(self._totals[a.name], codes, value_of[a.name])
        for group in self._groups:
            anchor = group.aggregates[0]
            if group.distinct is None:
                keys, matrix = codes, np.column_stack([value_of[a.name] for a in group.aggregates])
            else:
                assert anchor.column is not None
                value_codes = self._distinct_values[anchor.name].encode(events.column(anchor.column))
                keys, matrix = (codes << 32) | value_codes, np.ones((len(codes), 1), np.int64)
                self._count_in(anchor.name, keys)
            exits = anchor.exit_us(ts)
            order = np.argsort(exits, kind="stable")
            for rows in np.split(order, np.flatnonzero(np.diff(exits[order])) + 1):
                tiles = self._leaving.setdefault(int(exits[rows[0]]), {}).setdefault(group, _Tiles())
                tiles.add(keys[rows], matrix[rows])
        return codes

    def _count_in(self, name: str, pair_keys: np.ndarray) -> None:
        present, totals = self._present[name], self._totals[name]
        keys, counts = np.unique(pair_keys, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            before = present.get(key, 0)
            present[key] = before + count
            if before == 0:
                totals[key >> 32] += 1

    def _leave(self, now_us: int) -> np.ndarray:
        changed = [np.zeros(0, np.int64)]
        for exit_us in sorted(e for e in self._leaving if e <= now_us):
            for group, tiles in self._leaving.pop(exit_us).items():
                keys, matrix = tiles.merged()
                if group.distinct is None:
                    for i, a in enumerate(group.aggregates):
                        np.subtract.at(self._totals[a.name], keys, matrix[:, i])
                    codes = keys
                else:
                    # A distinct count changes only when the last event of a value leaves.
                    codes = self._count_out(group.distinct.name, keys, matrix[:, 0])
                np.maximum.at(self._last_change_us, codes, exit_us)
                changed.append(codes)
        return np.unique(np.concatenate(changed))

    def _count_out(self, name: str, pair_keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
        present, totals = self._present[name], self._totals[name]
        gone = []
        for key, count in zip(pair_keys.tolist(), counts.tolist(), strict=True):
            left = present[key] - count
            if left:
                present[key] = left
            else:
                del present[key]
                gone.append(key >> 32)
        codes = np.array(gone, np.int64)
        np.subtract.at(totals, codes, 1)
        return codes

    def _values(self, codes: np.ndarray) -> pa.Table:
        names = pa.array([self._entities.names[c] for c in codes.tolist()], pa.string())
        order = pc.sort_indices(names).to_numpy()
        codes, names = codes[order], names.take(order)
        capacity = None if self.catalog is None else catalog_capacity(names, self.catalog)
        aggregates = {name: totals[codes] for name, totals in self._totals.items()}
        return window_values(names, self._last_change_us[codes], aggregates, self.spec, capacity=capacity)

    def snapshot(self) -> bytes:
        """The whole state, for a restore by this same code (not an exchange format: restore only what you wrote)."""
        state = {k: v for k, v in vars(self).items() if k not in ("spec", "catalog")}
        return pickle.dumps({"format": _SNAPSHOT_FORMAT, "view": self.spec.view, "state": state})

    @classmethod
    def restore(cls, data: bytes, spec: WindowSpec, *, catalog: pa.Table | None = None) -> StreamingWindowAggregator:
        """An aggregator in the state `snapshot()` captured; the catalog is passed again (it is not state)."""
        saved = pickle.loads(data)  # noqa: S301 - only our own snapshots are restored
        if saved.get("format") != _SNAPSHOT_FORMAT or saved.get("view") != spec.view:
            found = f"{saved.get('view')} (format {saved.get('format')})"
            raise SnapshotMismatch(f"snapshot of {found} restored as {spec.view} (format {_SNAPSHOT_FORMAT})")
        aggregator = cls(spec, catalog=catalog)
        vars(aggregator).update(saved["state"])
        return aggregator

    def stats(self) -> AggregatorStats:
        until = None
        if self._queried_until_us is not None:
            until = pa.scalar(self._queried_until_us, pa.int64()).cast(TIMESTAMP).as_py()
        tiles = sum(len(t) for groups in self._leaving.values() for t in groups.values())
        return AggregatorStats(tiles, len(self._entities), until, self.aging_backlog)

    @property
    def aging_backlog(self) -> int:
        """Entities whose value aged since it was last returned: what `aging_limit` holds back."""
        return int(self._is_aging.sum())

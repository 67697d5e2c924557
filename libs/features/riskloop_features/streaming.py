"""Window features from a stream of purchases, for the online store.

`StreamingWindowAggregator` keeps, per entity, the events that can still change a window value (the
last `spec.retention`, e.g. 24 h for users, 5 min for events) and answers "which entities changed since
the last call, and what are their values now". It computes the values by calling the same
`window_feature_changes` as the batch job: there is no second implementation of the window maths.

Why this is exact: an event whose last change point (ts + retention + 1 µs) is at or before the last
query time contributes net zero to every later value of a bounded window, so it can be dropped. For
unbounded sums (tickets sold since on-sale) such events are folded into one carry row per entity that
keeps their total: its bounded-window effects are likewise all in the past.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from riskloop_features.names import TIMESTAMP_FIELD
from riskloop_features.transactions import TIMESTAMP, TRANSACTION_SCHEMA
from riskloop_features.windows import (
    Aggregation,
    WindowSpec,
    latest_per_entity,
    to_micros,
    window_feature_changes,
)

_SNAPSHOT_KEY = b"riskloop.streaming"


class QueryWentBackwards(ValueError):
    """`features_as_of` was asked for a moment before the previous query: values already emitted would be wrong."""


class SnapshotMismatch(ValueError):
    """A snapshot taken for one feature view was restored into an aggregator of another."""


@dataclass(frozen=True)
class AggregatorStats:
    buffered_events: int
    entities: int
    queried_until: datetime | None


class StreamingWindowAggregator:
    """Incremental window features for one `WindowSpec` (e.g. USER_REALTIME_WINDOWS).

    `add` batches of TRANSACTION_SCHEMA records in any order; `features_as_of(now)` returns one row per
    entity whose value changed since the previous call (new events, or events aging out), with the value
    as of `now` and the time it took that value.
    """

    def __init__(self, spec: WindowSpec, *, catalog: pa.Table | None = None) -> None:
        if spec.has_unbounded and any(a.window is None and a.kind is not Aggregation.SUM for a in spec.aggregates):
            raise ValueError(f"{spec.view}: only unbounded sums can be carried by the stream")
        self.spec = spec
        self.catalog = catalog
        self._buffer = pa.Table.from_batches([], schema=self._schema())
        self._pending: list[pa.Table] = []
        self._queried_until_us: int | None = None

    def _schema(self) -> pa.Schema:
        return pa.schema([TRANSACTION_SCHEMA.field(c) for c in self.spec.input_columns])

    def _project(self, table: pa.Table) -> pa.Table:
        return table.select(list(self.spec.input_columns)).cast(self._schema())

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Buffer purchase records (any column order; extra columns are ignored)."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows:
            self._pending.append(self._project(table))

    def features_as_of(self, now: datetime) -> pa.Table:
        """Rows (spec.output_schema) for every entity whose value changed since the previous call."""
        now_us = to_micros(now)
        previous = self._queried_until_us
        if previous is not None and now_us < previous:
            raise QueryWentBackwards(f"asked for {now.isoformat()} after a query at a later moment")
        fresh = pa.concat_tables(self._pending) if self._pending else None
        self._pending = []
        buffer = self._buffer if fresh is None else pa.concat_tables([self._buffer, fresh])

        relevant = buffer if previous is None else self._entities_to_recompute(buffer, fresh, previous, now_us)
        changes = window_feature_changes(relevant, self.spec, catalog=self.catalog, as_of=now)
        result = latest_per_entity(changes, self.spec.entity)
        self._buffer = self._prune(buffer, now_us)
        self._queried_until_us = now_us
        return result

    def _entities_to_recompute(
        self, buffer: pa.Table, fresh: pa.Table | None, previous_us: int, now_us: int
    ) -> pa.Table:
        # An entity changes in (previous, now] if one of its change points falls there, or it got new events.
        ts = pc.cast(buffer.column(TIMESTAMP_FIELD), pa.int64())
        offsets = [1] + sorted({a.window_us + 1 for a in self.spec.aggregates if a.window_us is not None})
        hit = None
        for offset in offsets:
            moment = pc.add(ts, offset)
            inside = pc.and_(pc.greater(moment, previous_us), pc.less_equal(moment, now_us))
            hit = inside if hit is None else pc.or_(hit, inside)
        keys = pc.unique(pc.filter(buffer.column(self.spec.entity), hit))
        if fresh is not None:
            keys = pc.unique(pa.concat_arrays([keys, pc.unique(fresh.column(self.spec.entity))]))
        return buffer.filter(pc.is_in(buffer.column(self.spec.entity), value_set=keys))

    def _prune(self, buffer: pa.Table, now_us: int) -> pa.Table:
        retention_us = self.spec.retention_us
        ts = pc.cast(buffer.column(TIMESTAMP_FIELD), pa.int64())
        done = pc.less_equal(pc.add(ts, retention_us + 1), now_us)
        kept = buffer.filter(pc.invert(done))
        if not self.spec.has_unbounded:
            return kept
        expired = buffer.filter(done)
        if expired.num_rows == 0:
            return kept
        return pa.concat_tables([self._carry(expired), kept])

    def _carry(self, expired: pa.Table) -> pa.Table:
        # One row per entity: its latest expired event, holding the total of every unbounded sum column.
        entity = self.spec.entity
        summed = sorted({a.column for a in self.spec.aggregates if a.window is None and a.column})
        ordered = expired.sort_by([(entity, "ascending"), (TIMESTAMP_FIELD, "ascending")])
        groups = ordered.group_by(entity, use_threads=False).aggregate(
            [(c, "sum") for c in summed] + [(TIMESTAMP_FIELD, "max")]
        )
        last = latest_per_entity(ordered, entity)  # ordered has the entity and timestamp like a changes table
        totals = {row[entity]: row for row in groups.to_pylist()}
        rows = []
        for row in last.to_pylist():
            for c in summed:
                row[c] = totals[row[entity]][f"{c}_sum"]
            rows.append(row)
        return pa.Table.from_pylist(rows, schema=self._schema())

    def snapshot(self) -> bytes:
        """The whole state (buffered events and the last query time) as Arrow IPC bytes, for a restart."""
        buffer = pa.concat_tables([self._buffer, *self._pending]) if self._pending else self._buffer
        meta = json.dumps({"view": self.spec.view, "queried_until_us": self._queried_until_us}).encode()
        buffer = buffer.replace_schema_metadata({_SNAPSHOT_KEY: meta})
        sink = io.BytesIO()
        with ipc.new_stream(sink, buffer.schema) as writer:
            writer.write_table(buffer)
        return sink.getvalue()

    @classmethod
    def restore(cls, data: bytes, spec: WindowSpec, *, catalog: pa.Table | None = None) -> StreamingWindowAggregator:
        """An aggregator in the state `snapshot()` captured; the catalog is passed again (it is not state)."""
        table = ipc.open_stream(io.BytesIO(data)).read_all()
        meta = json.loads((table.schema.metadata or {})[_SNAPSHOT_KEY])
        if meta["view"] != spec.view:
            raise SnapshotMismatch(f"snapshot of {meta['view']} restored as {spec.view}")
        aggregator = cls(spec, catalog=catalog)
        aggregator._buffer = table.replace_schema_metadata(None).cast(aggregator._schema())
        aggregator._queried_until_us = meta["queried_until_us"]
        return aggregator

    def stats(self) -> AggregatorStats:
        until = None
        if self._queried_until_us is not None:
            until = pa.scalar(self._queried_until_us, pa.int64()).cast(TIMESTAMP).as_py()
        buffer = self._buffer
        return AggregatorStats(buffer.num_rows, len(pc.unique(buffer.column(self.spec.entity))), until)

"""Tiled sliding-window features as of event time: the definition of every window value.

A window of length w is cut into tiles of w / 60 (1 min for 1 h, 24 min for 24 h, 5 s for 5 min). An
event at ts enters the values at ts + 1 µs (strictly after itself: the purchase being scored never sees
itself) and leaves when its whole tile has aged out, at tile_end(ts) + w (`WindowAggregate.exit_us`). So
a value as of t covers the events with ts < t in the tiles that end after t - w: between w and w + w/60
of history, the oldest tile counted whole.

Why tiles rather than each event leaving at ts + w: the stream then keeps one partial aggregate per
entity and tile instead of every event of the last 24 hours (864M at 10k events/s), and an expiry is a
whole tile leaving at once (see streaming.py). Batch and stream share this definition and `window_values`
(the features from aggregate values), so they agree to the bit.

`window_feature_changes` emits one row per entity at every change point, so "the latest row with
timestamp <= t" (Feast's point-in-time join, or the online store's latest value) is the window value at
any t. Sums of money are carried as integer micro-units so that values do not depend on the order or
the history the deltas were summed over.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskloop_features import sql
from riskloop_features.names import EVENT_KEY, EVENT_REALTIME_VIEW, TIMESTAMP_FIELD, USER_KEY, USER_REALTIME_VIEW
from riskloop_features.transactions import TIMESTAMP

MICROS_PER_UNIT = 1_000_000
# A window's tile is this fraction of it: the precision of its start, and what the stream keeps per entity.
TILES_PER_WINDOW = 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Aggregation(enum.StrEnum):
    COUNT = "count"
    SUM = "sum"
    COUNT_DISTINCT = "count_distinct"


@dataclass(frozen=True)
class WindowAggregate:
    """One running aggregate over an entity's events; `window=None` means since the first event."""

    name: str
    kind: Aggregation
    window: timedelta | None
    column: str | None = None
    # Sums of floats are taken as round(value * scale) integers, then divided back: exact and order-free.
    scale: int = 1

    @property
    def window_us(self) -> int | None:
        return None if self.window is None else _micros(self.window)

    @property
    def tile_us(self) -> int | None:
        return None if self.window is None else _micros(self.window) // TILES_PER_WINDOW

    def exit_us(self, ts: np.ndarray) -> np.ndarray:
        """When events at `ts` (µs) leave this window: the end of their tile plus the window."""
        tile, window = self._bounds()
        return (ts // tile + 1) * tile + window

    def exit_sql(self, ts: str) -> str:
        """`exit_us` as a DuckDB expression over a BIGINT microsecond column."""
        tile, window = self._bounds()
        return f"(({ts} // {tile} + 1) * {tile} + {window})"

    def _bounds(self) -> tuple[int, int]:
        if self.window_us is None or self.tile_us is None:
            raise InvalidWindowInput(f"{self.name}: an unbounded aggregate never leaves its window")
        return self.tile_us, self.window_us


@dataclass(frozen=True)
class WindowFeature:
    """An output feature: a SQL expression over the aggregates (and `capacity` when the spec joins the catalog)."""

    name: str
    expression: str
    arrow_type: pa.DataType


@dataclass(frozen=True)
class WindowSpec:
    """The window features of one feature view: its entity, its running aggregates and its outputs."""

    view: str
    entity: str
    aggregates: tuple[WindowAggregate, ...]
    features: tuple[WindowFeature, ...]
    uses_catalog: bool = False

    @property
    def input_columns(self) -> tuple[str, ...]:
        extra = [a.column for a in self.aggregates if a.column is not None]
        return tuple(dict.fromkeys([self.entity, TIMESTAMP_FIELD, *extra]))

    @property
    def retention(self) -> timedelta:
        """How long an event can still change a value after it happened: the longest window and its tile."""
        return max(a.window + a.window / TILES_PER_WINDOW for a in self.aggregates if a.window is not None)

    @property
    def has_unbounded(self) -> bool:
        return any(a.window is None for a in self.aggregates)

    @property
    def output_schema(self) -> pa.Schema:
        fields = [pa.field(self.entity, pa.string()), pa.field(TIMESTAMP_FIELD, TIMESTAMP)]
        return pa.schema(fields + [pa.field(f.name, f.arrow_type) for f in self.features])


class InvalidWindowInput(ValueError):
    """The events given to the window maths lack a column the spec needs, or the catalog is missing."""


_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_FIVE_MINUTES = timedelta(minutes=5)

USER_REALTIME_WINDOWS = WindowSpec(
    view=USER_REALTIME_VIEW,
    entity=USER_KEY,
    aggregates=(
        WindowAggregate("txn_count_1h", Aggregation.COUNT, _HOUR),
        WindowAggregate("amount_1h", Aggregation.SUM, _HOUR, "amount", MICROS_PER_UNIT),
        WindowAggregate("distinct_events_1h", Aggregation.COUNT_DISTINCT, _HOUR, EVENT_KEY),
        WindowAggregate("txn_count_24h", Aggregation.COUNT, _DAY),
        WindowAggregate("amount_24h", Aggregation.SUM, _DAY, "amount", MICROS_PER_UNIT),
    ),
    features=(
        WindowFeature("user_txn_count_1h", "txn_count_1h", pa.int64()),
        WindowFeature("user_txn_amount_1h", f"amount_1h / {MICROS_PER_UNIT}.0", pa.float64()),
        WindowFeature("user_distinct_events_1h", "distinct_events_1h", pa.int64()),
        # Undefined (null) with no purchase in the last 24 hours, not 0: the model must not read it as cheap.
        WindowFeature(
            "user_avg_amount_24h",
            f"CASE WHEN txn_count_24h > 0 THEN amount_24h / (txn_count_24h * {MICROS_PER_UNIT}.0) END",
            pa.float64(),
        ),
    ),
)

EVENT_REALTIME_WINDOWS = WindowSpec(
    view=EVENT_REALTIME_VIEW,
    entity=EVENT_KEY,
    aggregates=(
        WindowAggregate("tickets_5min", Aggregation.SUM, _FIVE_MINUTES, "tickets"),
        WindowAggregate("buyers_5min", Aggregation.COUNT_DISTINCT, _FIVE_MINUTES, USER_KEY),
        WindowAggregate("tickets_total", Aggregation.SUM, None, "tickets"),
    ),
    features=(
        WindowFeature("current_inventory", "capacity - tickets_total", pa.int64()),
        WindowFeature("sell_through_rate_5min", "tickets_5min / capacity::DOUBLE", pa.float64()),
        WindowFeature("concurrent_viewers", "buyers_5min", pa.int64()),
    ),
    uses_catalog=True,
)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_UNIT + delta.microseconds


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _micros(moment - _EPOCH)


def aggregate_value_sql(aggregate: WindowAggregate) -> str:
    """What one event adds to a count or sum (DuckDB expression): integers, so sums are exact."""
    if aggregate.kind is Aggregation.COUNT:
        return "1"
    if aggregate.scale == 1:
        return f"CAST({aggregate.column} AS BIGINT)"
    return f"CAST(round({aggregate.column} * {aggregate.scale}) AS BIGINT)"


def _deltas_sql(spec: WindowSpec) -> str:
    """Signed deltas (entity code k, change time t, one column per aggregate) as a UNION ALL of SELECTs."""
    names = [a.name for a in spec.aggregates]
    plain = [a for a in spec.aggregates if a.kind is not Aggregation.COUNT_DISTINCT]

    def row(values: dict[str, str], source: str, time: str) -> str:
        columns = ", ".join(f"{values.get(n, '0')}::BIGINT AS {n}" for n in names)
        return f"SELECT k, {time} AS t, {columns} FROM {source}"

    parts = [row({a.name: aggregate_value_sql(a) for a in plain}, "ev", "ts + 1")]
    bounded = [a for a in plain if a.window is not None]
    for window_us in sorted({a.window_us for a in bounded}):
        leaving = [a for a in bounded if a.window_us == window_us]
        expiring = {a.name: f"-{aggregate_value_sql(a)}" for a in leaving}
        parts.append(row(expiring, "ev", leaving[0].exit_sql("ts")))
    for a in spec.aggregates:
        if a.kind is Aggregation.COUNT_DISTINCT:
            parts.append(row({a.name: "flip"}, f"flips_{a.name}", "t"))
    return "\nUNION ALL\n".join(parts)


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums that restart where `starts` is True (rows sorted by segment, then time). Integers: exact."""
    total = np.cumsum(values)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return total - total[first] + values[first]


def _segment_starts(*keys: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(keys[0]), dtype=bool)
    if len(starts):
        starts[0] = True
        for key in keys:
            starts[1:] |= key[1:] != key[:-1]
    return starts


def _distinct_flips(k: np.ndarray, values: np.ndarray, ts: np.ndarray, aggregate: WindowAggregate) -> pa.Table:
    """(k, t, flip): +1 when a value enters an entity's window (its own event count goes 0 -> 1), -1 when it
    leaves (1 -> 0). A value is present over the union of [ts + 1, exit(ts)) of its events: sorted by
    time, a new stretch starts where an event enters after the previous one left."""
    if aggregate.window_us is None:
        raise InvalidWindowInput(f"{aggregate.name}: a distinct count needs a bounded window")
    order = np.lexsort((ts, values, k))
    k, values, ts = k[order], values[order], ts[order]
    exits = aggregate.exit_us(ts)
    starts = _segment_starts(k, values)
    starts[1:] |= ts[1:] + 1 > exits[:-1]
    ends = np.ones(len(ts), dtype=bool)
    ends[:-1] = starts[1:]
    return pa.table(
        {
            "k": np.concatenate([k[starts], k[ends]]),
            "t": np.concatenate([ts[starts] + 1, exits[ends]]),
            "flip": np.concatenate([np.ones(starts.sum(), np.int64), -np.ones(ends.sum(), np.int64)]),
        }
    )


def window_feature_changes(
    events: pa.Table,
    spec: WindowSpec,
    *,
    catalog: pa.Table | None = None,
    as_of: datetime | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Every change point of the spec's features per entity: rows grouped by entity, in time order.

    `events` needs the spec's `input_columns` (extra columns are ignored); `catalog` (EVENT_CATALOG_SCHEMA,
    at least event_id and capacity) is required when the spec uses it. `as_of` keeps change points at or
    before that moment. Returns `spec.output_schema`: entity, event_timestamp (the change time), features.

    DuckDB turns events into signed deltas and nets them per (entity, time); numpy takes the running sums
    (a segmented cumulative sum is linear, where SQL window functions over many partitions are not).
    """
    missing = [c for c in spec.input_columns if c not in events.column_names]
    if missing:
        raise InvalidWindowInput(f"{spec.view}: events lack columns {missing}")
    if spec.uses_catalog and catalog is None:
        raise InvalidWindowInput(f"{spec.view}: needs the event catalog (capacity)")

    # Entities (and distinct values) become integer codes: sorting and comparing them is what costs.
    entities = pc.dictionary_encode(events.column(spec.entity).combine_chunks())
    coded: dict[str, pa.Array] = {
        "k": entities.indices,
        "ts": pc.cast(events.column(TIMESTAMP_FIELD), pa.int64()),
    }
    for a in spec.aggregates:
        if a.column is None or f"d_{a.column}" in coded or a.column in coded:
            continue
        if a.kind is Aggregation.COUNT_DISTINCT:
            coded[f"d_{a.column}"] = pc.dictionary_encode(events.column(a.column).combine_chunks()).indices
        else:
            coded[a.column] = events.column(a.column).combine_chunks()
    with sql.connection(threads=threads) as connection:
        connection.register("ev", pa.table(coded))
        codes, times = coded["k"].to_numpy(), coded["ts"].to_numpy()
        for a in spec.aggregates:
            if a.kind is Aggregation.COUNT_DISTINCT:
                flips = _distinct_flips(codes, coded[f"d_{a.column}"].to_numpy(), times, a)
                connection.register(f"flips_{a.name}", flips)
        sums = ", ".join(f"sum({a.name})::BIGINT AS {a.name}" for a in spec.aggregates)
        limit = "" if as_of is None else f"WHERE t <= {to_micros(as_of)}"
        net = connection.sql(
            f"SELECT k, t, {sums} FROM ({_deltas_sql(spec)}) {limit} GROUP BY k, t ORDER BY k, t"
        ).to_arrow_table()

        k = net.column("k").to_numpy()
        starts = _segment_starts(k)
        running = {a.name: _segmented_cumsum(net.column(a.name).to_numpy(), starts) for a in spec.aggregates}
    capacity = None
    if spec.uses_catalog:
        assert catalog is not None
        capacity = pc.take(catalog_capacity(entities.dictionary, catalog), net.column("k"))
    keys = pc.take(entities.dictionary, net.column("k"))
    return window_values(keys, net.column("t").to_numpy(), running, spec, capacity=capacity)


def catalog_capacity(event_ids: pa.Array, catalog: pa.Table) -> pa.Array:
    """The capacity of each event id from the catalog (null for an event it does not list)."""
    positions = pc.index_in(event_ids, value_set=catalog.column(EVENT_KEY).combine_chunks())
    return pc.take(catalog.column("capacity").combine_chunks(), positions)


def window_values(
    keys: pa.Array,
    change_us: np.ndarray,
    aggregates: dict[str, np.ndarray],
    spec: WindowSpec,
    *,
    capacity: pa.Array | None = None,
) -> pa.Table:
    """`spec.output_schema` rows from aggregate values: the features' expressions, in one place for batch
    and stream. Row i is entity `keys[i]` with aggregates[name][i], as of change time `change_us[i]` (µs)."""
    columns: dict[str, object] = {a.name: aggregates[a.name] for a in spec.aggregates}
    if spec.uses_catalog:
        if capacity is None:
            raise InvalidWindowInput(f"{spec.view}: needs the event catalog (capacity)")
        columns["capacity"] = capacity
    features = ", ".join(f"({f.expression}) AS {f.name}" for f in spec.features)
    with sql.connection() as connection:
        connection.register("running", pa.table(columns))
        # A plain projection: DuckDB keeps the insertion order.
        result = connection.sql(f"SELECT {features} FROM running").to_arrow_table()
    times = pa.array(change_us, pa.int64()).cast(TIMESTAMP)
    arrays = [keys.cast(pa.string()), times] + [result.column(f.name).cast(f.arrow_type) for f in spec.features]
    return pa.Table.from_arrays(arrays, schema=spec.output_schema)


def latest_per_entity(changes: pa.Table, entity: str) -> pa.Table:
    """The last row of each entity of a `window_feature_changes` result (already sorted by entity, time)."""
    if changes.num_rows == 0:
        return changes
    with sql.connection() as connection:
        connection.register("changes_in", changes)
        return (
            connection.sql(
                f"""SELECT * FROM changes_in
                QUALIFY row_number() OVER (PARTITION BY {entity} ORDER BY {TIMESTAMP_FIELD} DESC) = 1
                ORDER BY {entity}"""
            )
            .to_arrow_table()
            .cast(changes.schema)
        )


def value_as_of(changes: pa.Table, entity: str, key: str, moment: datetime) -> dict[str, object] | None:
    """The features of one entity as of `moment` from a changes table (the latest row at or before it);
    None if the entity had no event before. A point lookup for tests and tools, not for bulk joins."""
    mask = pc.and_(
        pc.equal(changes.column(entity), key),
        pc.less_equal(changes.column(TIMESTAMP_FIELD), pa.scalar(moment, TIMESTAMP)),
    )
    rows = changes.filter(mask)
    if rows.num_rows == 0:
        return None
    return rows.slice(rows.num_rows - 1).to_pylist()[0]

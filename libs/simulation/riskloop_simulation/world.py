"""The world: a catalog and a population, and the day-by-day generation of traffic, fraud and labels.

Days are generated in order, each from its own random stream, so memory is bounded by one day and the
output depends only on the config: the same seed gives byte-identical tables.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskloop_simulation.catalog import Catalog, build_catalog
from riskloop_simulation.config import WorldConfig
from riskloop_simulation.day import make_day, world_salt
from riskloop_simulation.fraud import fraud_orders
from riskloop_simulation.orders import Orders
from riskloop_simulation.personas import Population, build_population
from riskloop_simulation.records import Vocabulary, chargebacks_table, ground_truth_table, transactions_table
from riskloop_simulation.traffic import legit_orders

# Separate random streams: the world's structure, each day's traffic, each day's labels.
_STRUCTURE_STREAM, _TRAFFIC_STREAM, _LABEL_STREAM = 0, 1, 2

class InvalidBatchSize(ValueError):
    """iter_transactions was asked for batches of fewer than one row."""


Progress = Callable[[int, int], None]
"""Called with (days done, days in total) after each generated day."""


@dataclass(frozen=True)
class SimulatedDay:
    """One day of purchases and the labels they will get (chargebacks dated in the future)."""

    date: datetime.date
    transactions: pa.Table  # TRANSACTION_SCHEMA, sorted by event_timestamp
    chargebacks: pa.Table  # CHARGEBACK_SCHEMA, for this day's purchases
    ground_truth: pa.Table  # GROUND_TRUTH_SCHEMA, row-aligned with transactions


@dataclass(frozen=True)
class SimulatedData:
    config: WorldConfig
    transactions: pa.Table  # TRANSACTION_SCHEMA, sorted by event_timestamp; no label
    chargebacks: pa.Table  # CHARGEBACK_SCHEMA, sorted by chargeback_timestamp
    events: pa.Table  # EVENT_CATALOG_SCHEMA
    ground_truth: pa.Table  # GROUND_TRUTH_SCHEMA, row-aligned with transactions; evaluation only


class World:
    """The catalog and population of a config; generates its days on demand."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        rng = np.random.default_rng([config.seed, _STRUCTURE_STREAM])
        self.catalog: Catalog = build_catalog(config, rng)
        self.population: Population = build_population(config, rng)
        self._words = Vocabulary(catalog=self.catalog, population=self.population)

    @property
    def events(self) -> pa.Table:
        return self.catalog.table()

    def iter_days(self) -> Iterator[SimulatedDay]:
        """Every day of the period in order; one day in memory at a time. Each call starts over from
        full inventory."""
        remaining = self.catalog.capacity.copy()  # seats left per event, carried across days
        sequence = 0
        for index in range(self.config.days):
            orders = self._draw_orders(index, remaining)
            yield self._render(index, orders, sequence)
            sequence += len(orders)

    def _draw_orders(self, index: int, remaining: np.ndarray) -> Orders:
        config = self.config
        day = make_day(index, config, self.catalog, self.population)
        rng = np.random.default_rng([config.seed, _TRAFFIC_STREAM, index])
        legit = legit_orders(day, rng)
        expected_fraud = config.fraud_rate / (1 - config.fraud_rate) * len(legit) * config.effective_fraud_mix()
        orders = Orders.concat([legit, fraud_orders(day, rng, expected_fraud)])
        orders = orders.take(np.argsort(orders.ts, kind="stable"))
        return orders.take(np.flatnonzero(_within_inventory(orders, remaining)))

    def _render(self, index: int, orders: Orders, first_sequence: int) -> SimulatedDay:
        config = self.config
        transactions = transactions_table(orders, first_sequence, self._words, world_salt(config))
        labels_rng = np.random.default_rng([config.seed, _LABEL_STREAM, index])
        return SimulatedDay(
            date=config.start.date() + datetime.timedelta(days=index),
            transactions=transactions,
            chargebacks=chargebacks_table(transactions, orders, config, labels_rng),
            ground_truth=ground_truth_table(transactions, orders),
        )

    def simulate(self, progress: Progress | None = None) -> SimulatedData:
        days: list[SimulatedDay] = []
        for day in self.iter_days():
            days.append(day)
            if progress is not None:
                progress(len(days), self.config.days)
        # A config has at least one day, so there is always a table to concatenate.
        transactions = pa.concat_tables([d.transactions for d in days])
        chargebacks = pa.concat_tables([d.chargebacks for d in days])
        ground_truth = pa.concat_tables([d.ground_truth for d in days])
        by_arrival = [("chargeback_timestamp", "ascending"), ("transaction_id", "ascending")]
        order = pc.sort_indices(chargebacks, sort_keys=by_arrival)
        return SimulatedData(
            config=self.config,
            transactions=transactions.combine_chunks(),
            chargebacks=chargebacks.take(order).combine_chunks(),
            events=self.events,
            ground_truth=ground_truth.combine_chunks(),
        )


def _within_inventory(orders: Orders, remaining: np.ndarray) -> np.ndarray:
    """Which time-ordered orders still find seats; updates `remaining`.

    Once an event's cumulative demand passes its seats left, later orders for it fail (sold out), so
    kept orders never exceed capacity.
    """
    if len(orders) == 0:
        return np.zeros(0, dtype=bool)
    by_event = np.lexsort((np.arange(len(orders)), orders.event))
    events = orders.event[by_event]
    tickets = orders.tickets[by_event].astype(np.int64)
    cumulative = np.cumsum(tickets)
    group_start = np.flatnonzero(np.r_[True, events[1:] != events[:-1]])
    group_of = np.repeat(np.arange(len(group_start)), np.diff(np.r_[group_start, len(events)]))
    before_group = (cumulative - tickets)[group_start]
    demand = cumulative - before_group[group_of]
    fits = demand <= remaining[events]
    np.subtract.at(remaining, events[fits], tickets[fits])
    keep = np.empty(len(orders), dtype=bool)
    keep[by_event] = fits
    return keep


def simulate(config: WorldConfig, progress: Progress | None = None) -> SimulatedData:
    """The whole world in memory: transactions, chargebacks, the event catalog and the ground truth."""
    return World(config).simulate(progress)


def iter_days(config: WorldConfig) -> Iterator[SimulatedDay]:
    """Day by day, for callers that replay traffic with its labels (bounded memory: one day)."""
    return World(config).iter_days()


def iter_transactions(config: WorldConfig, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Transactions in event_timestamp order, as RecordBatches of at most `batch_size` rows (a day's
    last batch may be shorter). Only one day is in memory at a time."""
    if batch_size < 1:
        raise InvalidBatchSize(f"batch_size must be >= 1, got {batch_size}")
    return _batches(World(config), batch_size)


def _batches(world: World, batch_size: int) -> Iterator[pa.RecordBatch]:
    for day in world.iter_days():
        yield from day.transactions.to_batches(max_chunksize=batch_size)

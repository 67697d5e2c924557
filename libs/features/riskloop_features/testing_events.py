"""Small, explicit event tables for the tests of this package (and of its callers): no simulator needed."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from riskloop_features.transactions import CHARGEBACK_SCHEMA, EVENT_CATALOG_SCHEMA, TRANSACTION_SCHEMA

if TYPE_CHECKING:
    from feast import FeatureStore

    from riskloop_config.settings import FeastSettings, RedisSettings
    from riskloop_features.windows import WindowSpec

T0 = datetime(2026, 3, 1, tzinfo=UTC)
# Capacities of the events of tricky_purchases, and of the smaller Feast scenarios.
CAPACITIES = {"e1": 500, "e2": 80, "e3": 1000}
CATALOG = {"e1": 100, "e2": 50}


@dataclass(frozen=True)
class Purchase:
    """The fields of a purchase the features read; the rest of the record is filled with constants."""

    transaction_id: str
    at: datetime
    user_id: str
    event_id: str
    amount: float = 10.0
    tickets: int = 1
    promoter_id: str = "p1"
    event_category: str = "concert"


def transactions_table(purchases: Iterable[Purchase]) -> pa.Table:
    rows = [
        {
            "transaction_id": p.transaction_id,
            "event_timestamp": p.at,
            "user_id": p.user_id,
            "event_id": p.event_id,
            "promoter_id": p.promoter_id,
            "venue_id": "v1",
            "event_category": p.event_category,
            "ticket_tier": "standard",
            "tickets": p.tickets,
            "unit_price": p.amount / p.tickets,
            "amount": p.amount,
            "currency": "EUR",
            "payment_method": "card",
            "card_fingerprint": f"card-{p.user_id}",
            "device_id": f"device-{p.user_id}",
            "ip_address": "10.0.0.1",
            "country": "FR",
            "channel": "web",
        }
        for p in purchases
    ]
    return pa.Table.from_pylist(rows, schema=TRANSACTION_SCHEMA)


def chargebacks_table(chargebacks: Iterable[tuple[str, str, datetime]]) -> pa.Table:
    """(transaction_id, user_id, chargeback_timestamp) triples."""
    rows = [
        {"transaction_id": t, "user_id": u, "chargeback_timestamp": at, "reason": "fraudulent"}
        for t, u, at in chargebacks
    ]
    return pa.Table.from_pylist(rows, schema=CHARGEBACK_SCHEMA)


def catalog_table(capacities: dict[str, int], *, promoter_id: str = "p1") -> pa.Table:
    rows = [
        {
            "event_id": event_id,
            "promoter_id": promoter_id,
            "venue_id": "v1",
            "event_category": "concert",
            "capacity": capacity,
            "base_price": 10.0,
            "on_sale_timestamp": T0 - timedelta(days=60),
            "event_start_timestamp": T0 + timedelta(days=60),
        }
        for event_id, capacity in capacities.items()
    ]
    return pa.Table.from_pylist(rows, schema=EVENT_CATALOG_SCHEMA)


def tricky_purchases(seed: int = 7, count: int = 120) -> list[Purchase]:
    """Purchases that exercise the edges: identical timestamps, repeats of one (user, event), bursts,
    gaps longer than every window (so values age out), and amounts that are not exact in binary."""
    rng = random.Random(seed)
    purchases: list[Purchase] = []
    at = T0
    for i in range(count):
        step = rng.choice([0, 0, 1, 30, 59 * 60, 3600, 3601, 4 * 3600, 25 * 3600, 300, 301])
        at = at + timedelta(seconds=step, microseconds=rng.choice([0, 0, 1]))
        purchases.append(
            Purchase(
                transaction_id=f"t{i:04d}",
                at=at,
                user_id=rng.choice(["u1", "u2", "u3"]),
                event_id=rng.choice(["e1", "e2", "e3"]),
                amount=rng.choice([0.1, 0.2, 19.99, 100.0, 33.33]),
                tickets=rng.randint(1, 4),
            )
        )
    return purchases


def stream_states(
    spec: WindowSpec,
    purchases: list[Purchase],
    queries: list[datetime],
    *,
    restart_every: int = 0,
    sweep_every: int = 100_000,
) -> list[dict[str, dict[str, object]]]:
    """Feed purchases in micro-batches (each arriving just before the query after it) and return the
    state an online store would hold after each query."""
    from riskloop_features.streaming import StreamingWindowAggregator

    catalog = catalog_table(CAPACITIES) if spec.uses_catalog else None
    aggregator = StreamingWindowAggregator(spec, catalog=catalog, sweep_every=sweep_every)
    state: dict[str, dict[str, object]] = {}
    states = []
    remaining = sorted(purchases, key=lambda p: p.at)
    for i, moment in enumerate(queries):
        batch = [p for p in remaining if p.at < moment]
        remaining = [p for p in remaining if p.at >= moment]
        if batch:
            aggregator.add(transactions_table(batch))
        for row in aggregator.features_as_of(moment).to_pylist():
            state[row[spec.entity]] = {k: v for k, v in row.items() if k not in (spec.entity, "event_timestamp")}
        states.append(dict(state))
        if restart_every and i % restart_every == restart_every - 1:
            aggregator = StreamingWindowAggregator.restore(aggregator.snapshot(), spec, catalog=catalog)
    return states


def query_times(purchases: list[Purchase]) -> list[datetime]:
    from riskloop_features.windows import EVENT_REALTIME_WINDOWS, USER_REALTIME_WINDOWS, to_micros

    start, end = purchases[0].at, purchases[-1].at + timedelta(days=1, minutes=30)
    step = (end - start) / 40
    moments = {start + step * i for i in range(41)}
    # Exactly on arrivals and on tile exits too (and a microsecond before): the edges of the windows.
    moments |= {p.at + timedelta(microseconds=1) for p in purchases[::3]}
    bounded = [a for spec in (USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS) for a in spec.aggregates if a.window]
    for p in purchases[::11]:
        for aggregate in bounded:
            exit_us = int(aggregate.exit_us(to_micros(p.at)))
            exit_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=exit_us)
            moments |= {exit_at - timedelta(microseconds=1), exit_at}
    return sorted(moments)


def project_name() -> str:
    """A Feast project name of its own for each test (they share the SQL registry tables)."""
    import uuid

    return f"t_{uuid.uuid4().hex[:10]}"


def local_store(
    tmp_path: Path, *, redis: RedisSettings | None = None, project: str | None = None
) -> tuple[FeatureStore, FeastSettings]:
    """A Feast store with its registry and files under tmp_path and every definition applied, in its own
    project (or `project`); online on SQLite, or on `redis` when given."""
    from riskloop_config.settings import FeastSettings
    from riskloop_features.definitions import feature_definitions
    from riskloop_features.store import feature_store

    settings = FeastSettings(
        project=project or project_name(),
        online_store="sqlite" if redis is None else "redis",
        registry=str(tmp_path / "registry.db"),
        sqlite_path=tmp_path / "online.db",
        offline_root=str(tmp_path / "offline"),
        repo_path=tmp_path,
    )
    store = feature_store(settings, redis=redis)
    store.apply(feature_definitions(settings.offline_root).objects())
    return store, settings

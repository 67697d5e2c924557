from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from riskloop_features.transactions import CHARGEBACK_SCHEMA, EVENT_CATALOG_SCHEMA, TRANSACTION_SCHEMA
from riskloop_simulation import (
    GROUND_TRUTH_SCHEMA,
    MAX_TICKETS_PER_ORDER,
    InvalidBatchSize,
    SimulatedData,
    WorldConfig,
    iter_days,
    iter_transactions,
    simulate,
)

SMALL = WorldConfig(seed=11, n_users=3_000, n_events=60, n_promoters=8, n_venues=15, days=12)


@pytest.fixture(scope="module")
def small() -> SimulatedData:
    return simulate(SMALL)


def test_same_seed_gives_identical_transactions(small: SimulatedData) -> None:
    again = simulate(SMALL)
    assert again.transactions.equals(small.transactions)
    assert again.chargebacks.equals(small.chargebacks)
    assert again.events.equals(small.events)
    assert again.ground_truth.equals(small.ground_truth)


def test_another_seed_gives_another_world(small: SimulatedData) -> None:
    other = simulate(replace(SMALL, seed=12))
    assert not other.transactions.equals(small.transactions)
    assert not other.events.equals(small.events)


def test_tables_follow_the_record_contract(small: SimulatedData) -> None:
    assert small.transactions.schema.equals(TRANSACTION_SCHEMA)
    assert small.chargebacks.schema.equals(CHARGEBACK_SCHEMA)
    assert small.events.schema.equals(EVENT_CATALOG_SCHEMA)
    assert small.ground_truth.schema.equals(GROUND_TRUTH_SCHEMA)
    assert small.transactions.num_rows > 2_000
    for column in small.transactions.columns:
        assert column.null_count == 0


def test_transactions_carry_no_label_column(small: SimulatedData) -> None:
    names = set(small.transactions.column_names)
    assert names == set(TRANSACTION_SCHEMA.names)
    assert not names & {"is_fraud", "fraud", "label", "fraud_pattern", "reason", "persona"}


def test_ids_have_the_documented_shapes(small: SimulatedData) -> None:
    frame = small.transactions.to_pandas()
    assert frame.user_id.str.fullmatch(r"u_\d{6}").all()
    assert frame.event_id.str.fullmatch(r"e_\d{5}").all()
    assert frame.promoter_id.str.fullmatch(r"p_\d{4}").all()
    assert frame.venue_id.str.fullmatch(r"v_\d{4}").all()
    assert frame.transaction_id.str.fullmatch(r"t_\d{12}").all()
    assert frame.transaction_id.is_unique
    assert frame.ip_address.str.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}").all()


def test_transactions_are_sorted_by_time_within_the_period(small: SimulatedData) -> None:
    ts = small.transactions.column("event_timestamp").cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()
    start_us = int(SMALL.start.timestamp()) * 1_000_000
    assert ts[0] >= start_us
    assert ts[-1] < start_us + SMALL.days * 86_400 * 1_000_000


def test_amount_is_tickets_times_unit_price_within_limits(small: SimulatedData) -> None:
    frame = small.transactions.to_pandas()
    assert np.allclose(frame.amount, (frame.tickets * frame.unit_price).round(2))
    assert frame.tickets.between(1, MAX_TICKETS_PER_ORDER).all()
    assert (frame.unit_price > 0).all()
    assert set(frame.ticket_tier) == {"general", "premium", "vip"}
    assert set(frame.channel) <= {"web", "app", "api"}


def test_purchases_happen_while_the_event_is_on_sale(small: SimulatedData) -> None:
    joined = small.transactions.to_pandas().merge(small.events.to_pandas(), on="event_id", suffixes=("", "_catalog"))
    assert len(joined) == small.transactions.num_rows
    assert (joined.event_timestamp >= joined.on_sale_timestamp).all()
    assert (joined.event_timestamp < joined.event_start_timestamp).all()
    assert (joined.promoter_id == joined.promoter_id_catalog).all()
    assert (joined.venue_id == joined.venue_id_catalog).all()


def test_inventory_never_oversold() -> None:
    # Many buyers, few small events: demand exceeds seats, so some events must sell out.
    config = WorldConfig(seed=5, n_users=20_000, n_events=12, n_promoters=3, n_venues=4, days=10, activity=2.0)
    crowded = simulate(config)
    sold = crowded.transactions.group_by("event_id").aggregate([("tickets", "sum")]).to_pandas()
    catalog = crowded.events.to_pandas().merge(sold, on="event_id", how="left").fillna({"tickets_sum": 0})
    assert (catalog.tickets_sum <= catalog.capacity).all()
    assert (catalog.tickets_sum == catalog.capacity).any(), "the crowded world should sell at least one event out"


def test_popularity_is_heavy_tailed(small: SimulatedData) -> None:
    per_event = small.transactions.to_pandas().event_id.value_counts()
    top_share = per_event.iloc[: max(1, len(per_event) // 10)].sum() / per_event.sum()
    assert top_share > 0.3  # the top tenth of events draw far more than a tenth of orders


def test_purchases_follow_a_daily_cycle(small: SimulatedData) -> None:
    hours = small.transactions.to_pandas().event_timestamp.dt.hour
    night = hours.between(2, 5).sum()
    evening = hours.between(17, 20).sum()
    assert evening > 3 * night


def test_on_sale_draws_a_flash_spike(small: SimulatedData) -> None:
    frame = small.transactions.to_pandas().merge(small.events.to_pandas(), on="event_id")
    hours_since = (frame.event_timestamp - frame.on_sale_timestamp).dt.total_seconds() / 3600
    first_hour = (hours_since < 1).sum()
    rest_of_first_week_per_hour = ((hours_since >= 1) & (hours_since < 168)).sum() / 167
    assert first_hour > 10 * rest_of_first_week_per_hour


def test_fraud_share_is_near_the_configured_rate() -> None:
    # Big enough for many campaigns: card testing and bot bursts make fraud counts lumpy.
    world = simulate(WorldConfig(seed=8, n_users=20_000, n_events=100, n_promoters=10, n_venues=25, days=14))
    share = pc.mean(world.ground_truth.column("is_fraud").cast(pa.float64())).as_py()
    assert 0.01 < share < 0.035


def test_ground_truth_is_row_aligned_with_transactions(small: SimulatedData) -> None:
    assert small.ground_truth.column("transaction_id").equals(small.transactions.column("transaction_id"))
    truth = small.ground_truth.to_pandas()
    assert (truth.is_fraud == truth.fraud_pattern.notna()).all()


def test_iter_transactions_streams_the_same_rows_in_bounded_batches(small: SimulatedData) -> None:
    batches = list(iter_transactions(SMALL, batch_size=500))
    assert all(b.num_rows <= 500 for b in batches)
    assert all(b.schema.equals(TRANSACTION_SCHEMA) for b in batches)
    assert pa.Table.from_batches(batches).equals(small.transactions)


def test_iter_transactions_refuses_empty_batches() -> None:
    with pytest.raises(InvalidBatchSize):
        iter_transactions(SMALL, batch_size=0)


def test_iter_days_gives_each_day_its_purchases_and_their_labels(small: SimulatedData) -> None:
    days = list(iter_days(SMALL))
    assert len(days) == SMALL.days
    for day in days:
        dates = pc.unique(pc.strftime(day.transactions.column("event_timestamp"), format="%Y-%m-%d")).to_pylist()
        assert dates == [day.date.isoformat()]
        purchased = set(day.transactions.column("transaction_id").to_pylist())
        assert set(day.chargebacks.column("transaction_id").to_pylist()) <= purchased
    assert sum(d.chargebacks.num_rows for d in days) == small.chargebacks.num_rows


def test_drift_shifts_amounts_channels_countries_and_fraud_mix() -> None:
    reference = WorldConfig(seed=17, n_users=6_000, n_events=60, n_promoters=8, n_venues=15, days=10, fraud_rate=0.1)
    base, drifted = simulate(reference), simulate(replace(reference, drift=1.0))
    before, after = base.transactions.to_pandas(), drifted.transactions.to_pandas()
    assert after.unit_price.median() > 1.2 * before.unit_price.median()
    assert (after.channel == "app").mean() > (before.channel == "app").mean() + 0.1
    new_countries = {"BR", "IN", "NG", "MX", "PH"}
    assert not set(before.country) & new_countries
    assert set(after.country) & new_countries

    # Takeovers come in many small campaigns, so their rate per legit order is a steady measure.
    def takeover_rate(world: SimulatedData) -> float:
        truth = world.ground_truth.to_pandas()
        return float((truth.fraud_pattern == "account_takeover").sum() / (~truth.is_fraud).sum())

    assert takeover_rate(drifted) > 1.2 * takeover_rate(base)


def test_start_is_normalised_to_utc_midnight() -> None:
    config = WorldConfig(start=datetime(2026, 3, 1, 15, 30, tzinfo=UTC))
    assert config.start == datetime(2026, 3, 1, tzinfo=UTC)


def test_events_have_promoters_with_several_events(small: SimulatedData) -> None:
    events = small.events.to_pandas()
    per_promoter = events.promoter_id.value_counts()
    assert len(per_promoter) == SMALL.n_promoters
    assert per_promoter.max() >= 3
    assert (events.event_start_timestamp > events.on_sale_timestamp).all()
    assert set(events.event_category) >= {"sports", "concerts", "cultural", "comedy", "family"}
    assert pd.Series(events.capacity).min() > 0

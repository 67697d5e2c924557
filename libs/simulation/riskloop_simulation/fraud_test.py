from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from riskloop_simulation import (
    FRAUD_PATTERNS,
    FRIENDLY_FRAUD,
    MAX_TICKETS_PER_ORDER,
    SimulatedData,
    WorldConfig,
    simulate,
)

# More fraud than the default so every pattern has enough rows to measure in a small world.
FRAUDY = WorldConfig(seed=21, n_users=6_000, n_events=80, n_promoters=10, n_venues=20, days=14, fraud_rate=0.05)


@pytest.fixture(scope="module")
def world() -> SimulatedData:
    return simulate(FRAUDY)


@pytest.fixture(scope="module")
def rows(world: SimulatedData) -> pd.DataFrame:
    frame = world.transactions.to_pandas().merge(world.ground_truth.to_pandas(), on="transaction_id")
    frame["pattern"] = frame.fraud_pattern.fillna("legit")
    return frame


def _minutes(s: pd.Series) -> float:
    return (s.max() - s.min()).total_seconds() / 60


def test_card_testing_bursts_use_many_cards_from_one_device(rows: pd.DataFrame) -> None:
    testing = rows[rows.pattern == "card_testing"]
    per_device = testing.groupby("device_id").agg(
        cards=("card_fingerprint", "nunique"), orders=("transaction_id", "size"), ips=("ip_address", "nunique"),
        span=("event_timestamp", _minutes),
    )
    assert len(per_device) >= 3
    assert (per_device.cards == per_device.orders).all()  # a new card every attempt
    assert per_device.cards.median() >= 8
    assert (per_device.ips == 1).all()
    assert per_device.span.median() < 15  # within minutes
    legit_cards_per_device = rows[rows.pattern == "legit"].groupby("device_id").card_fingerprint.nunique()
    assert legit_cards_per_device.max() < per_device.cards.median()
    # Tiny amounts: cheap general tickets, one at a time.
    assert (testing.tickets == 1).all() and (testing.ticket_tier == "general").all()
    assert testing.amount.median() < rows[rows.pattern == "legit"].amount.quantile(0.25)


def test_account_takeover_hits_known_users_from_new_device_and_country(rows: pd.DataFrame) -> None:
    legit = rows[rows.pattern == "legit"]
    takeover = rows[rows.pattern == "account_takeover"]
    assert len(takeover) >= 30
    with_history = takeover[takeover.user_id.isin(legit.user_id)]
    assert len(with_history) / len(takeover) > 0.7  # existing accounts, not new ones
    usual_country = legit.groupby("user_id").country.agg(lambda s: s.mode().iloc[0])
    assert (with_history.country != with_history.user_id.map(usual_country)).all()
    known_devices = set(zip(legit.user_id, legit.device_id, strict=True))
    assert not any((u, d) in known_devices for u, d in zip(takeover.user_id, takeover.device_id, strict=True))
    assert takeover.amount.median() > 2 * legit.amount.median()
    assert takeover.ticket_tier.isin(["premium", "vip"]).mean() > 0.8
    spans = takeover.groupby(["user_id", "device_id"]).event_timestamp.agg(_minutes)
    assert spans.median() < 30  # a short burst


def test_bot_scalping_buys_max_tickets_over_api_at_on_sale(world: SimulatedData, rows: pd.DataFrame) -> None:
    bots = rows[rows.pattern == "bot_scalping"].merge(world.events.to_pandas(), on="event_id")
    assert len(bots) >= 30
    assert (bots.channel == "api").all()
    assert (bots.tickets == MAX_TICKETS_PER_ORDER).all()
    since_on_sale = (bots.event_timestamp - bots.on_sale_timestamp).dt.total_seconds() / 60
    assert since_on_sale.median() < 10
    per_device = bots.groupby("device_id").agg(cards=("card_fingerprint", "nunique"), orders=("transaction_id", "size"))
    assert per_device.cards.max() >= 3  # rotating cards
    assert (per_device.orders > per_device.cards).any()  # each card reused in rotation


def test_stolen_cards_buy_expensive_tiers_at_odd_hours_with_other_users_cards(rows: pd.DataFrame) -> None:
    stolen = rows[rows.pattern == "stolen_cards"]
    assert len(stolen) >= 30
    assert stolen.event_timestamp.dt.hour.lt(6).mean() > 0.5
    assert rows[rows.pattern == "legit"].event_timestamp.dt.hour.lt(6).mean() < 0.15
    assert stolen.ticket_tier.isin(["premium", "vip"]).mean() > 0.8
    users_per_card = rows.groupby("card_fingerprint").user_id.nunique()
    shared = stolen.card_fingerprint.map(users_per_card) > 1
    legit_shared = rows[rows.pattern == "legit"].card_fingerprint.map(users_per_card) > 1
    assert shared.mean() > 0.4
    assert shared.mean() > 5 * legit_shared.mean()


def test_some_legit_behaviour_overlaps_fraud_signatures(rows: pd.DataFrame) -> None:
    legit = rows[rows.pattern == "legit"].sort_values("event_timestamp")
    usual_country = legit.groupby("user_id").country.agg(lambda s: s.mode().iloc[0])
    assert (legit.country != legit.user_id.map(usual_country)).sum() > 20  # travellers
    assert (legit.channel == "api").sum() > 20  # scalpers scripting too
    assert (legit.tickets == MAX_TICKETS_PER_ORDER).sum() > 20
    assert (legit.groupby("card_fingerprint").user_id.nunique() > 1).sum() > 5  # household cards
    gaps = legit.groupby("user_id").event_timestamp.diff().dt.total_seconds()
    assert (gaps < 300).sum() > 20  # repeat orders within minutes


def test_fraud_patterns_differ_from_each_other(rows: pd.DataFrame) -> None:
    assert set(rows.pattern) == {"legit", *FRAUD_PATTERNS}
    api_share = ("channel", lambda s: (s == "api").mean())
    by_pattern = rows.groupby("pattern").agg(amount=("amount", "median"), api=api_share)
    assert by_pattern.loc["card_testing", "amount"] < by_pattern.loc["stolen_cards", "amount"] / 5
    assert by_pattern.loc["bot_scalping", "api"] == 1.0
    assert by_pattern.loc["account_takeover", "api"] == 0.0


def test_chargebacks_arrive_after_purchase(world: SimulatedData, rows: pd.DataFrame) -> None:
    charged = world.chargebacks.to_pandas().merge(rows, on="transaction_id", suffixes=("", "_tx"))
    assert len(charged) == world.chargebacks.num_rows
    assert (charged.user_id == charged.user_id_tx).all()
    delay_days = (charged.chargeback_timestamp - charged.event_timestamp).dt.total_seconds() / 86_400
    assert (delay_days >= 2).all()
    fraud_delay = delay_days[charged.is_fraud]
    assert 4 < fraud_delay.median() < 20
    assert fraud_delay.max() > 30  # heavy tail
    timestamps = world.chargebacks.column("chargeback_timestamp").to_pandas()
    assert timestamps.is_monotonic_increasing


def test_chargeback_reasons_come_from_the_generating_process(world: SimulatedData, rows: pd.DataFrame) -> None:
    charged = world.chargebacks.to_pandas().merge(rows, on="transaction_id")
    fraud = charged[charged.is_fraud]
    assert (fraud.reason == fraud.fraud_pattern).all()
    assert set(fraud.reason) == set(FRAUD_PATTERNS)
    friendly = charged[~charged.is_fraud]
    assert (friendly.reason == FRIENDLY_FRAUD).all()
    assert len(friendly) > 0
    never_charged = 1 - len(fraud) / rows.is_fraud.sum()
    assert 0.03 < never_charged < 0.2  # uncharged_fraud_share = 0.1


def test_label_settings_do_not_change_traffic(world: SimulatedData) -> None:
    other = simulate(replace(FRAUDY, uncharged_fraud_share=0.5, friendly_fraud_rate=0.0))
    assert other.transactions.equals(world.transactions)
    assert other.ground_truth.equals(world.ground_truth)
    assert other.chargebacks.num_rows < world.chargebacks.num_rows
    assert set(other.chargebacks.column("reason").to_pylist()) <= set(FRAUD_PATTERNS)


def test_zero_fraud_rate_gives_only_friendly_chargebacks() -> None:
    clean = simulate(WorldConfig(seed=3, n_users=1_000, n_events=20, n_promoters=4, n_venues=5, days=5, fraud_rate=0.0))
    assert not np.any(clean.ground_truth.column("is_fraud").to_numpy())
    assert set(clean.chargebacks.column("reason").to_pylist()) <= {FRIENDLY_FRAUD}

from __future__ import annotations

from datetime import timedelta

import pytest

from riskloop_features.histories import (
    PRIOR_RATE,
    PRIOR_STRENGTH,
    event_history_snapshots,
    user_behavior_changes,
)
from riskloop_features.testing_events import (
    T0,
    Purchase,
    catalog_table,
    chargebacks_table,
    transactions_table,
)
from riskloop_features.windows import value_as_of

US = timedelta(microseconds=1)


def test_risk_score_counts_only_chargebacks_known_before_t() -> None:
    purchases = [Purchase("a", T0, "u1", "e1"), Purchase("b", T0 + timedelta(days=1), "u1", "e1")]
    known_at = T0 + timedelta(days=10)
    table = user_behavior_changes(transactions_table(purchases), chargebacks_table([("a", "u1", known_at)]))
    before = value_as_of(table, "user_id", "u1", known_at)
    after = value_as_of(table, "user_id", "u1", known_at + US)
    assert before["fraud_risk_score"] == pytest.approx(PRIOR_RATE * PRIOR_STRENGTH / (2 + PRIOR_STRENGTH))
    assert after["fraud_risk_score"] == pytest.approx((1 + PRIOR_RATE * PRIOR_STRENGTH) / (2 + PRIOR_STRENGTH))
    assert after["lifetime_purchases"] == 2


def test_lifetime_purchases_excludes_the_purchase_at_t() -> None:
    purchases = [Purchase("a", T0, "u1", "e1"), Purchase("b", T0 + timedelta(hours=1), "u1", "e1")]
    table = user_behavior_changes(transactions_table(purchases), chargebacks_table([]))
    assert value_as_of(table, "user_id", "u1", T0 + timedelta(hours=1))["lifetime_purchases"] == 1


def test_preferred_category_keeps_the_first_leader_on_ties() -> None:
    purchases = [
        Purchase("a", T0, "u1", "e1", event_category="sport"),
        Purchase("b", T0 + timedelta(minutes=1), "u1", "e1", event_category="concert"),
        Purchase("c", T0 + timedelta(minutes=2), "u1", "e1", event_category="concert"),
    ]
    table = user_behavior_changes(transactions_table(purchases), chargebacks_table([]))
    preferred = lambda t: value_as_of(table, "user_id", "u1", t)["preferred_category"]  # noqa: E731
    assert preferred(T0 + timedelta(minutes=1, microseconds=1)) == "sport"
    assert preferred(T0 + timedelta(minutes=2, microseconds=1)) == "concert"


def test_event_history_is_a_snapshot_at_midnight_of_earlier_sales() -> None:
    purchases = [
        Purchase("a", T0 + timedelta(hours=10), "u1", "e1", amount=30.0, tickets=3),
        Purchase("b", T0 + timedelta(days=1, hours=1), "u2", "e2", amount=10.0, tickets=1),
    ]
    table = event_history_snapshots(transactions_table(purchases), catalog_table({"e1": 10, "e2": 10}))
    rows = {(r["event_id"], r["event_timestamp"]): r for r in table.to_pylist()}
    day1, day2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    assert rows[("e1", day1)]["total_tickets_sold"] == 3
    assert rows[("e1", day1)]["avg_ticket_price"] == pytest.approx(10.0)
    assert rows[("e1", day1)]["promoter_success_rate"] == pytest.approx(3 / 20)
    assert rows[("e1", day2)]["promoter_success_rate"] == pytest.approx(4 / 20)
    assert ("e2", day1) not in rows and rows[("e2", day2)]["total_tickets_sold"] == 1

from __future__ import annotations

from datetime import timedelta

import pytest

from riskloop_features.streaming import QueryWentBackwards, SnapshotMismatch, StreamingWindowAggregator
from riskloop_features.testing_events import (
    CAPACITIES,
    T0,
    Purchase,
    catalog_table,
    query_times,
    stream_states,
    transactions_table,
    tricky_purchases,
)
from riskloop_features.windows import (
    EVENT_REALTIME_WINDOWS,
    USER_REALTIME_WINDOWS,
    WindowSpec,
    value_as_of,
    window_feature_changes,
)


@pytest.mark.parametrize("sweep_every", [100_000, 1], ids=["rare-sweeps", "sweep-each-new-entity"])
@pytest.mark.parametrize("spec", [USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS], ids=lambda s: s.view)
def test_stream_matches_batch_at_every_query(spec: WindowSpec, sweep_every: int) -> None:
    purchases = tricky_purchases(seed=3, count=100)
    queries = query_times(purchases)
    catalog = catalog_table(CAPACITIES) if spec.uses_catalog else None
    batch = window_feature_changes(transactions_table(purchases), spec, catalog=catalog)
    states = stream_states(spec, purchases, queries, restart_every=9, sweep_every=sweep_every)
    for moment, state in zip(queries, states, strict=True):
        for key in CAPACITIES if spec.uses_catalog else ("u1", "u2", "u3"):
            expected = value_as_of(batch, spec.entity, key, moment)
            if expected is None:
                assert key not in state
            else:
                expected = {k: v for k, v in expected.items() if k not in (spec.entity, "event_timestamp")}
                assert state[key] == expected, (key, moment)


def test_count_falls_as_events_age_out_without_new_events() -> None:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(transactions_table([Purchase("a", T0, "u1", "e1"), Purchase("b", T0, "u2", "e1")]))
    first = aggregator.features_as_of(T0 + timedelta(minutes=1)).to_pylist()
    assert [(r["user_id"], r["user_txn_count_1h"]) for r in first] == [("u1", 1), ("u2", 1)]
    assert aggregator.features_as_of(T0 + timedelta(minutes=30)).num_rows == 0  # nothing changed
    later = aggregator.features_as_of(T0 + timedelta(hours=1, minutes=1)).to_pylist()
    assert [(r["user_id"], r["user_txn_count_1h"]) for r in later] == [("u1", 0), ("u2", 0)]


def test_tiles_are_forgotten_when_they_leave_their_window() -> None:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(transactions_table([Purchase(f"t{i}", T0 + timedelta(seconds=i), "u1", "e1") for i in range(50)]))
    aggregator.features_as_of(T0 + timedelta(minutes=1))
    assert aggregator.stats().tiles == 3  # 50 events, one tile each for the 1 h sums, distinct events, 24 h sums
    aggregator.features_as_of(T0 + timedelta(hours=2))
    assert aggregator.stats().tiles == 1
    aggregator.features_as_of(T0 + timedelta(days=1, minutes=24))
    assert aggregator.stats().tiles == 0


def test_aging_values_are_spread_over_calls_but_new_purchases_never_wait() -> None:
    purchases = [Purchase(f"t{i}", T0, f"u{i}", "e1") for i in range(5)]
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(transactions_table(purchases))
    assert aggregator.features_as_of(T0 + timedelta(minutes=1), aging_limit=2).num_rows == 5  # new: all of them
    aged_at = T0 + timedelta(hours=1, minutes=1)  # the 1 h tile of T0 has left
    first = aggregator.features_as_of(aged_at, aging_limit=2).to_pylist()
    assert len(first) == 2 and aggregator.aging_backlog == 3
    aggregator.add(transactions_table([Purchase("new", aged_at, "u4", "e1")]))
    later = aged_at + timedelta(seconds=1)
    second = {r["user_id"]: r for r in aggregator.features_as_of(later, aging_limit=2).to_pylist()}
    assert second["u4"]["user_txn_count_1h"] == 1  # its new purchase, not held back (and not aged any more)
    assert len(second) == 3 and aggregator.aging_backlog == 0
    everything = transactions_table([*purchases, Purchase("new", aged_at, "u4", "e1")])
    batch = window_feature_changes(everything, USER_REALTIME_WINDOWS)
    for row in first + list(second.values()):
        expected = value_as_of(batch, "user_id", row["user_id"], later)
        assert {k: row[k] for k in expected if k != "event_timestamp"} == {
            k: v for k, v in expected.items() if k != "event_timestamp"
        }
    with pytest.raises(ValueError, match="aging_limit"):
        aggregator.features_as_of(later, aging_limit=0)


def test_entities_whose_tiles_all_left_are_forgotten_and_start_again_from_zero() -> None:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS, sweep_every=1)
    aggregator.add(transactions_table([Purchase("a", T0, "u1", "e1"), Purchase("b", T0, "u2", "e2")]))
    aggregator.features_as_of(T0 + timedelta(minutes=1))
    back = T0 + timedelta(days=2)
    aggregator.add(transactions_table([Purchase("c", back, "u3", "e1")]))
    aggregator.features_as_of(back + timedelta(seconds=1))  # u1 and u2 hold no tile any more: swept
    assert aggregator.stats().entities == 1
    aggregator.add(transactions_table([Purchase("d", back + timedelta(seconds=2), "u1", "e2", amount=7.0)]))
    row = aggregator.features_as_of(back + timedelta(seconds=3)).to_pylist()[0]
    assert (row["user_id"], row["user_txn_count_1h"], row["user_distinct_events_1h"]) == ("u1", 1, 1)
    assert row["user_avg_amount_24h"] == 7.0


def test_a_sweep_keeps_the_distinct_values_still_inside_a_window() -> None:
    aggregator = StreamingWindowAggregator(EVENT_REALTIME_WINDOWS, catalog=catalog_table({"e1": 100}), sweep_every=1)
    aggregator.add(transactions_table([Purchase("a", T0, "u1", "e1")]))
    aggregator.features_as_of(T0 + timedelta(seconds=1))  # e1 is new: a sweep runs, u1's purchase is live
    aggregator.add(transactions_table([Purchase("b", T0 + timedelta(seconds=2), "u2", "e1")]))
    row = aggregator.features_as_of(T0 + timedelta(seconds=3)).to_pylist()[0]
    assert row["concurrent_viewers"] == 2


def test_inventory_survives_pruning_of_old_sales() -> None:
    catalog = catalog_table({"e1": 100})
    aggregator = StreamingWindowAggregator(EVENT_REALTIME_WINDOWS, catalog=catalog)
    aggregator.add(transactions_table([Purchase("a", T0, "u1", "e1", tickets=3)]))
    aggregator.features_as_of(T0 + timedelta(hours=1))
    aggregator.add(transactions_table([Purchase("b", T0 + timedelta(hours=2), "u2", "e1", tickets=2)]))
    row = aggregator.features_as_of(T0 + timedelta(hours=2, seconds=1)).to_pylist()[0]
    assert row["current_inventory"] == 95 and row["concurrent_viewers"] == 1


def test_late_event_is_counted_when_it_arrives() -> None:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(transactions_table([Purchase("a", T0, "u1", "e1")]))
    aggregator.features_as_of(T0 + timedelta(minutes=10))
    aggregator.add(transactions_table([Purchase("late", T0 + timedelta(minutes=5), "u1", "e2")]))
    row = aggregator.features_as_of(T0 + timedelta(minutes=11)).to_pylist()[0]
    assert row["user_txn_count_1h"] == 2 and row["user_distinct_events_1h"] == 2


def test_queries_cannot_go_back_in_time() -> None:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.features_as_of(T0)
    with pytest.raises(QueryWentBackwards):
        aggregator.features_as_of(T0 - timedelta(seconds=1))


def test_snapshot_of_one_view_cannot_restore_another() -> None:
    snapshot = StreamingWindowAggregator(USER_REALTIME_WINDOWS).snapshot()
    with pytest.raises(SnapshotMismatch):
        StreamingWindowAggregator.restore(snapshot, EVENT_REALTIME_WINDOWS, catalog=catalog_table(CAPACITIES))


def test_pruned_sales_count_for_inventory_but_not_for_the_five_minute_rate() -> None:
    aggregator = StreamingWindowAggregator(EVENT_REALTIME_WINDOWS, catalog=catalog_table({"e1": 100}))
    purchases = [
        Purchase("a", T0 - timedelta(hours=1), "u1", "e1", tickets=4),
        Purchase("b", T0, "u2", "e1", tickets=1),
        Purchase("c", T0 + timedelta(seconds=30), "u3", "e1", tickets=2),
    ]
    rows = []
    for purchase in purchases:
        aggregator.add(transactions_table([purchase]))
        rows = aggregator.features_as_of(purchase.at + timedelta(microseconds=1)).to_pylist()
    assert rows[0]["current_inventory"] == 100 - 7
    assert rows[0]["sell_through_rate_5min"] == pytest.approx(3 / 100)
    assert rows[0]["concurrent_viewers"] == 2

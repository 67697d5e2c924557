from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop_features.testing_events import (
    T0,
    Purchase,
    catalog_table,
    transactions_table,
    tricky_purchases,
)
from riskloop_features.windows import (
    EVENT_REALTIME_WINDOWS,
    USER_REALTIME_WINDOWS,
    InvalidWindowInput,
    value_as_of,
    window_feature_changes,
)

US = timedelta(microseconds=1)
CAPACITIES = {"e1": 500, "e2": 80, "e3": 1000}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOWS = (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1))


def tile_end(at: datetime, window: timedelta) -> datetime:
    tile = window / 60
    return EPOCH + ((at - EPOCH) // tile + 1) * tile


def inside(p: Purchase, t: datetime, window: timedelta) -> bool:
    """The definition, directly: before t, in a tile (window / 60 long) that ends after t - window."""
    return p.at < t and tile_end(p.at, window) > t - window


def brute_force_user(purchases: list[Purchase], user: str, t: datetime) -> dict[str, object]:
    hour = [p for p in purchases if p.user_id == user and inside(p, t, timedelta(hours=1))]
    day = [p for p in purchases if p.user_id == user and inside(p, t, timedelta(days=1))]
    return {
        "user_txn_count_1h": len(hour),
        "user_txn_amount_1h": math.fsum(p.amount for p in hour),
        "user_distinct_events_1h": len({p.event_id for p in hour}),
        "user_avg_amount_24h": math.fsum(p.amount for p in day) / len(day) if day else None,
    }


def brute_force_event(purchases: list[Purchase], event: str, t: datetime) -> dict[str, object]:
    recent = [p for p in purchases if p.event_id == event and inside(p, t, timedelta(minutes=5))]
    before = [p for p in purchases if p.event_id == event and p.at < t]
    capacity = CAPACITIES[event]
    return {
        "current_inventory": capacity - sum(p.tickets for p in before),
        "sell_through_rate_5min": sum(p.tickets for p in recent) / capacity,
        "concurrent_viewers": len({p.user_id for p in recent}),
    }


def probe_times(purchases: list[Purchase]) -> list[datetime]:
    """Every instant where a value may change (arrivals, tile exits), and one microsecond either side of it;
    also where an exact window would have dropped the event."""
    moments: set[datetime] = set()
    for p in purchases:
        edges = [p.at, *(p.at + w for w in WINDOWS), *(tile_end(p.at, w) + w for w in WINDOWS)]
        for edge in edges:
            for d in (-US, timedelta(0), US, 2 * US):
                moments.add(edge + d)
    return sorted(moments)


def assert_same(actual: dict[str, object] | None, expected: dict[str, object]) -> None:
    assert actual is not None
    for name, value in expected.items():
        if value is None or actual[name] is None:
            assert actual[name] == value, name
        else:
            assert actual[name] == pytest.approx(value, rel=1e-12, abs=1e-9), name


def test_user_windows_match_the_definition_at_every_change_point() -> None:
    purchases = tricky_purchases()
    changes = window_feature_changes(transactions_table(purchases), USER_REALTIME_WINDOWS)
    for user in ("u1", "u2", "u3"):
        first = min(p.at for p in purchases if p.user_id == user)
        for t in probe_times(purchases):
            value = value_as_of(changes, "user_id", user, t)
            if t <= first:
                assert value is None
            else:
                assert_same(value, brute_force_user(purchases, user, t))


def test_event_windows_match_the_definition_at_every_change_point() -> None:
    purchases = tricky_purchases(seed=11)
    changes = window_feature_changes(
        transactions_table(purchases), EVENT_REALTIME_WINDOWS, catalog=catalog_table(CAPACITIES)
    )
    for event in CAPACITIES:
        first = min(p.at for p in purchases if p.event_id == event)
        for t in probe_times(purchases):
            value = value_as_of(changes, "event_id", event, t)
            if t <= first:
                assert value is None
            else:
                assert_same(value, brute_force_event(purchases, event, t))


def test_count_falls_when_events_age_out() -> None:
    purchases = [Purchase("a", T0, "u1", "e1"), Purchase("b", T0 + timedelta(minutes=10), "u1", "e1")]
    changes = window_feature_changes(transactions_table(purchases), USER_REALTIME_WINDOWS)
    count = lambda t: value_as_of(changes, "user_id", "u1", t)["user_txn_count_1h"]  # noqa: E731
    assert count(T0 + US) == 1
    assert count(T0 + timedelta(minutes=10, microseconds=1)) == 2
    # T0 starts a minute: its tile (1/60 of the hour) leaves whole, one hour after the tile ends.
    assert count(T0 + timedelta(hours=1)) == 2
    assert count(T0 + timedelta(hours=1, minutes=1) - US) == 2
    assert count(T0 + timedelta(hours=1, minutes=1)) == 1
    assert count(T0 + timedelta(hours=1, minutes=11) - US) == 1
    assert count(T0 + timedelta(hours=1, minutes=11)) == 0


def test_purchase_never_sees_itself() -> None:
    purchases = [Purchase("a", T0, "u1", "e1"), Purchase("b", T0, "u1", "e2")]
    changes = window_feature_changes(transactions_table(purchases), USER_REALTIME_WINDOWS)
    assert value_as_of(changes, "user_id", "u1", T0) is None
    assert value_as_of(changes, "user_id", "u1", T0 + US)["user_txn_count_1h"] == 2


def test_repeated_event_counts_once_until_its_last_purchase_ages_out() -> None:
    purchases = [Purchase("a", T0, "u1", "e1"), Purchase("b", T0 + timedelta(minutes=30), "u1", "e1")]
    changes = window_feature_changes(transactions_table(purchases), USER_REALTIME_WINDOWS)
    distinct = lambda t: value_as_of(changes, "user_id", "u1", t)["user_distinct_events_1h"]  # noqa: E731
    assert distinct(T0 + timedelta(minutes=31)) == 1
    assert distinct(T0 + timedelta(minutes=61)) == 1
    assert distinct(T0 + timedelta(minutes=91)) == 0


def test_average_is_null_without_purchases_in_the_day() -> None:
    changes = window_feature_changes(transactions_table([Purchase("a", T0, "u1", "e1")]), USER_REALTIME_WINDOWS)
    average = lambda t: value_as_of(changes, "user_id", "u1", t)["user_avg_amount_24h"]  # noqa: E731
    assert average(T0 + timedelta(days=1, minutes=24) - US) == 10.0  # the 24 h window's tiles are 24 min
    assert average(T0 + timedelta(days=1, minutes=24)) is None


def test_missing_column_is_refused() -> None:
    events = transactions_table([Purchase("a", T0, "u1", "e1")]).drop_columns(["amount"])
    with pytest.raises(InvalidWindowInput):
        window_feature_changes(events, USER_REALTIME_WINDOWS)


def test_event_windows_need_the_catalog() -> None:
    with pytest.raises(InvalidWindowInput):
        window_feature_changes(transactions_table([Purchase("a", T0, "u1", "e1")]), EVENT_REALTIME_WINDOWS)


def test_empty_events_give_no_changes() -> None:
    changes = window_feature_changes(transactions_table([]), USER_REALTIME_WINDOWS)
    assert changes.num_rows == 0 and changes.schema == USER_REALTIME_WINDOWS.output_schema
    assert isinstance(changes, pa.Table)


@settings(max_examples=25, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=7_200), min_size=1, max_size=12),
    probe=st.integers(min_value=0, max_value=7_200),
    extra=st.integers(min_value=0, max_value=3_600),
)
def test_a_value_as_of_t_never_moves_with_events_at_or_after_t(offsets: list[int], probe: int, extra: int) -> None:
    base = [Purchase(f"t{i}", T0 + timedelta(seconds=o), "u1", f"e{i % 3}", amount=1.5) for i, o in enumerate(offsets)]
    t = T0 + timedelta(seconds=probe)
    later = [*base, Purchase("late", t + timedelta(seconds=extra), "u1", "e9", amount=1000.0)]
    earlier = [*base, Purchase("early", t - timedelta(seconds=1), "u1", "e9", amount=1000.0)]

    def as_of(purchases: list[Purchase]) -> dict[str, object] | None:
        return value_as_of(
            window_feature_changes(transactions_table(purchases), USER_REALTIME_WINDOWS), "user_id", "u1", t
        )

    before = as_of(base)
    assert as_of(later) == before
    moved = as_of(earlier)
    assert moved is not None and moved["user_txn_amount_1h"] == pytest.approx(
        (before["user_txn_amount_1h"] if before else 0.0) + 1000.0
    )


def test_retention_covers_the_longest_window_and_its_oldest_tile() -> None:
    # A restart replays this much of the log: every event whose tile has not left a window yet.
    assert USER_REALTIME_WINDOWS.retention == timedelta(days=1, minutes=24)
    assert EVENT_REALTIME_WINDOWS.retention == timedelta(minutes=5, seconds=5)

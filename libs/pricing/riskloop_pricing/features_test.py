from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

import pytest

from riskloop_pricing.features import EventFeatureReader, FeatureLookupFailed


class RecordingLookup:
    """An online lookup answering like Feast's `to_dict()`, remembering what it was asked."""

    def __init__(self, answer: Mapping[str, Sequence[object]]) -> None:
        self.answer = answer
        self.calls: list[tuple[tuple[str, ...], list[dict[str, str]]]] = []

    def __call__(self, refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        self.calls.append((tuple(refs), [dict(r) for r in rows]))
        return self.answer


def test_features_are_read_from_both_event_views_for_an_event_and_promoter() -> None:
    lookup = RecordingLookup(
        {
            "event_id": ["e1"],
            "promoter_id": ["p1"],
            "current_inventory": [120],
            "sell_through_rate_5min": [0.03],
            "concurrent_viewers": [40],
            "total_tickets_sold": [880],
            "avg_ticket_price": [55.5],
            "promoter_success_rate": [0.9],
        }
    )
    features = EventFeatureReader(lookup).read("e1", "p1")
    assert features.sell_through_rate_5min == 0.03 and features.total_tickets_sold == 880.0
    assert features.missing == ()
    refs, rows = lookup.calls[0]
    assert rows == [{"event_id": "e1", "promoter_id": "p1"}]
    assert "event_realtime_metrics:current_inventory" in refs and "event_historical_metrics:avg_ticket_price" in refs


def test_without_a_promoter_only_the_realtime_view_is_asked() -> None:
    lookup = RecordingLookup({"current_inventory": [5], "sell_through_rate_5min": [0.0], "concurrent_viewers": [0]})
    features = EventFeatureReader(lookup).read("e1")
    refs, rows = lookup.calls[0]
    assert all(ref.startswith("event_realtime_metrics:") for ref in refs) and rows == [{"event_id": "e1"}]
    assert features.missing == ("total_tickets_sold", "avg_ticket_price", "promoter_success_rate")


def test_values_the_store_does_not_have_are_missing_not_zero() -> None:
    lookup = RecordingLookup({"current_inventory": [None], "sell_through_rate_5min": [float("nan")]})
    features = EventFeatureReader(lookup).read("unknown-event")
    assert features.current_inventory is None and features.sell_through_rate_5min is None


def test_a_failing_store_is_one_named_error() -> None:
    def broken(refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        raise ConnectionError("registry unreachable")

    with pytest.raises(FeatureLookupFailed, match="registry unreachable"):
        EventFeatureReader(broken).read("e1")


def test_a_slow_store_is_cut_off_at_the_timeout() -> None:
    release = threading.Event()

    def stuck(refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        release.wait(5)
        return {}

    reader = EventFeatureReader(stuck, timeout_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(FeatureLookupFailed, match="TimeoutError"):
        reader.read("e1")
    assert time.monotonic() - started < 1.0
    release.set()


def test_after_a_failure_lookups_pause_for_the_backoff_then_resume() -> None:
    now = [100.0]
    calls: list[int] = []

    def flaky(refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("Connection refused")
        return {"sell_through_rate_5min": [0.01]}

    reader = EventFeatureReader(flaky, backoff_seconds=5.0, clock=lambda: now[0])
    with pytest.raises(FeatureLookupFailed, match="Connection refused"):
        reader.read("e1")
    with pytest.raises(FeatureLookupFailed, match="paused"):
        reader.read("e1")
    assert len(calls) == 1
    now[0] += 5.0
    assert reader.read("e1").sell_through_rate_5min == 0.01

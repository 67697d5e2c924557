from __future__ import annotations

import pytest

from riskloop_pricing.segments import (
    ALL_SEGMENTS,
    DEFAULT_SEGMENT,
    EventFeatures,
    UnknownSegment,
    assign_segment,
    check_segment,
    inventory_share,
)


def test_fast_selling_events_are_high_demand() -> None:
    features = EventFeatures(sell_through_rate_5min=0.02, current_inventory=500, total_tickets_sold=500)
    assert assign_segment(features, "concerts").segment == "high-concerts"


def test_scarce_inventory_is_high_demand_even_when_selling_slowly() -> None:
    features = EventFeatures(sell_through_rate_5min=0.0, current_inventory=50, total_tickets_sold=950)
    assert assign_segment(features, "sports").segment == "high-sports"


def test_moderate_sales_are_medium_demand() -> None:
    features = EventFeatures(sell_through_rate_5min=0.005, current_inventory=900, total_tickets_sold=100)
    assert assign_segment(features).segment == "medium-any"


def test_slow_sales_with_plenty_left_are_low_demand() -> None:
    features = EventFeatures(sell_through_rate_5min=0.0001, current_inventory=900, total_tickets_sold=100)
    assert assign_segment(features, "family").segment == "low-family"


def test_without_a_sell_through_rate_the_event_falls_back_to_the_default_segment() -> None:
    assignment = assign_segment(EventFeatures(current_inventory=10, total_tickets_sold=990), "concerts")
    assert assignment.segment == DEFAULT_SEGMENT and assignment.fallback


def test_unknown_categories_are_pooled_so_segments_stay_bounded() -> None:
    features = EventFeatures(sell_through_rate_5min=0.0)
    assert assign_segment(features, "Underwater Opera").segment == "low-other"
    assert assign_segment(features, " Concerts ").segment == "low-concerts"


def test_inventory_share_is_unknown_without_sales_or_with_nonsense() -> None:
    assert inventory_share(EventFeatures(current_inventory=10)) is None
    assert inventory_share(EventFeatures(current_inventory=0, total_tickets_sold=0)) is None
    assert inventory_share(EventFeatures(current_inventory=-5, total_tickets_sold=10)) is None
    assert inventory_share(EventFeatures(current_inventory=25, total_tickets_sold=75)) == 0.25


def test_missing_features_are_named() -> None:
    features = EventFeatures(sell_through_rate_5min=0.1, current_inventory=3)
    assert features.missing == ("concurrent_viewers", "total_tickets_sold", "avg_ticket_price", "promoter_success_rate")


def test_every_assignable_segment_passes_the_check_and_others_do_not() -> None:
    assert check_segment(DEFAULT_SEGMENT) == DEFAULT_SEGMENT
    assert "high-festivals" in ALL_SEGMENTS and len(ALL_SEGMENTS) == 25
    with pytest.raises(UnknownSegment, match="made-up"):
        check_segment("made-up")

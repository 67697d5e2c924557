"""Segments: groups of events whose buyers are assumed to answer a price alike, so they share posteriors.

A segment is a demand bucket (from how fast the event sells and how much is left) and the event's
category. The set of segments is closed, so Redis keys and metric labels stay bounded whatever callers send.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

DEFAULT_SEGMENT = "default"
DEMAND_BUCKETS: tuple[str, ...] = ("low", "medium", "high")
# The simulator's catalog categories; any other category is pooled as `other`, none given as `any`.
CATEGORIES: tuple[str, ...] = ("sports", "concerts", "cultural", "comedy", "family", "festivals")
ANY_CATEGORY = "any"
OTHER_CATEGORY = "other"


class UnknownSegment(ValueError):
    """A segment name this policy never assigns (e.g. feedback with a made-up segment)."""

    def __init__(self, segment: str) -> None:
        self.segment = segment
        super().__init__(
            f"segment {segment!r} is not one this policy assigns; expected '{DEFAULT_SEGMENT}' or "
            f"'<demand>-<category>' with demand in {', '.join(DEMAND_BUCKETS)}"
        )


@dataclass(frozen=True)
class EventFeatures:
    """An event's online features; None where the online store has no value."""

    current_inventory: float | None = None
    sell_through_rate_5min: float | None = None
    concurrent_viewers: float | None = None
    total_tickets_sold: float | None = None
    avg_ticket_price: float | None = None
    promoter_success_rate: float | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in self.names() if getattr(self, name) is None)


@dataclass(frozen=True)
class SegmentRules:
    """Demand bucket thresholds. Sell-through is the share of capacity sold in the last 5 minutes."""

    high_sell_through: float = 0.01  # 1% of capacity per 5 min sells out within about 8 hours
    medium_sell_through: float = 0.002
    high_scarcity_share: float = 0.1  # at most 10% of the seats left
    medium_scarcity_share: float = 0.3


@dataclass(frozen=True)
class SegmentAssignment:
    segment: str
    # True when the features needed to bucket the event were missing and the default segment was used.
    fallback: bool


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def inventory_share(features: EventFeatures) -> float | None:
    """Share of the seats still unsold, when both inventory and sales are known."""
    left, sold = _finite(features.current_inventory), _finite(features.total_tickets_sold)
    if left is None or sold is None or left < 0 or sold < 0 or left + sold <= 0:
        return None
    return left / (left + sold)


# Frozen, so one shared default instance is safe.
DEFAULT_RULES = SegmentRules()


def demand_bucket(features: EventFeatures, rules: SegmentRules = DEFAULT_RULES) -> str | None:
    """`low`, `medium` or `high`; None when the sell-through rate is unknown."""
    rate = _finite(features.sell_through_rate_5min)
    if rate is None:
        return None
    share = inventory_share(features)
    if rate >= rules.high_sell_through or (share is not None and share <= rules.high_scarcity_share):
        return "high"
    if rate >= rules.medium_sell_through or (share is not None and share <= rules.medium_scarcity_share):
        return "medium"
    return "low"


def category_key(category: str | None) -> str:
    if category is None:
        return ANY_CATEGORY
    normalised = category.strip().lower()
    return normalised if normalised in CATEGORIES else OTHER_CATEGORY


def assign_segment(
    features: EventFeatures, category: str | None = None, rules: SegmentRules = DEFAULT_RULES
) -> SegmentAssignment:
    demand = demand_bucket(features, rules)
    if demand is None:
        return SegmentAssignment(DEFAULT_SEGMENT, fallback=True)
    return SegmentAssignment(f"{demand}-{category_key(category)}", fallback=False)


ALL_SEGMENTS: frozenset[str] = frozenset(
    {DEFAULT_SEGMENT}
    | {f"{d}-{c}" for d in DEMAND_BUCKETS for c in (*CATEGORIES, ANY_CATEGORY, OTHER_CATEGORY)}
)


def check_segment(segment: str) -> str:
    """`segment` if the policy can assign it, else `UnknownSegment`."""
    if segment not in ALL_SEGMENTS:
        raise UnknownSegment(segment)
    return segment

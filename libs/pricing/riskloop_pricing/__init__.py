"""riskloop-pricing: Thompson sampling over price multipliers, with posteriors shared in Redis."""

from riskloop_pricing.arms import InvalidGuards, PriceArms, PriceGuards, UnknownArm, arm_label
from riskloop_pricing.features import EventFeatureReader, FeatureLookupFailed, OnlineLookup
from riskloop_pricing.policy import (
    ArmSummary,
    InvalidBasePrice,
    PricingPolicy,
    Recommendation,
    SegmentSummary,
    policy_from_settings,
)
from riskloop_pricing.posterior import (
    BetaPosterior,
    PosteriorStore,
    PosteriorUnavailable,
    RedisPosteriorStore,
    redis_posterior_store,
)
from riskloop_pricing.segments import (
    DEFAULT_SEGMENT,
    EventFeatures,
    SegmentRules,
    UnknownSegment,
    assign_segment,
)

__all__ = [
    "DEFAULT_SEGMENT",
    "ArmSummary",
    "BetaPosterior",
    "EventFeatureReader",
    "EventFeatures",
    "FeatureLookupFailed",
    "InvalidBasePrice",
    "InvalidGuards",
    "OnlineLookup",
    "PosteriorStore",
    "PosteriorUnavailable",
    "PriceArms",
    "PriceGuards",
    "PricingPolicy",
    "Recommendation",
    "RedisPosteriorStore",
    "SegmentRules",
    "SegmentSummary",
    "UnknownArm",
    "UnknownSegment",
    "arm_label",
    "assign_segment",
    "policy_from_settings",
    "redis_posterior_store",
]

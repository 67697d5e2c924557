"""Thompson sampling over price multipliers: per segment, draw a conversion rate for each arm from its Beta
posterior and offer the arm whose draw earns the most (multiplier * base price * sampled conversion)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskloop_config.settings import RiskloopSettings
from riskloop_pricing.arms import PriceArms, PriceGuards, arm_label
from riskloop_pricing.posterior import BetaPosterior, PosteriorStore, PosteriorUnavailable, redis_posterior_store
from riskloop_pricing.segments import EventFeatures, SegmentRules, assign_segment, check_segment


class InvalidBasePrice(ValueError):
    """A base price that is not a positive finite number."""


@dataclass(frozen=True)
class Recommendation:
    segment: str
    multiplier: float
    price: float
    features_missing: tuple[str, ...]
    # True when the posteriors could not be read and the uniform prior chose the arm.
    degraded: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ArmSummary:
    multiplier: float
    sold: int
    unsold: int
    conversion_mean: float


@dataclass(frozen=True)
class SegmentSummary:
    segment: str
    arms: tuple[ArmSummary, ...]


@dataclass(frozen=True)
class PricingPolicy:
    arms: PriceArms
    store: PosteriorStore
    rules: SegmentRules = SegmentRules()

    def recommend(
        self,
        features: EventFeatures,
        base_price: float,
        rng: np.random.Generator,
        *,
        category: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> Recommendation:
        """The price to offer now. Never fails on a missing dependency: it degrades and says why."""
        if not (math.isfinite(base_price) and base_price > 0):
            raise InvalidBasePrice(f"base price must be a positive finite number, got {base_price!r}")
        assignment = assign_segment(features, category, self.rules)
        notes = list(reasons)
        if assignment.fallback:
            notes.append("event features unavailable online: priced on the default segment")
        labels = self.arms.labels
        degraded = False
        try:
            posteriors = self.store.read(assignment.segment, labels)
        except PosteriorUnavailable as exc:
            degraded = True
            notes.append(f"{exc}; priced from the uniform prior")
            posteriors = {label: BetaPosterior() for label in labels}
        multiplier = self._sample_arm(posteriors, base_price, rng)
        return Recommendation(
            segment=assignment.segment,
            multiplier=multiplier,
            # The guards bound the multiplier, so the price is base * multiplier exactly, unrounded.
            price=base_price * multiplier,
            features_missing=features.missing,
            degraded=degraded,
            reasons=tuple(notes),
        )

    def _sample_arm(self, posteriors: dict[str, BetaPosterior], base_price: float, rng: np.random.Generator) -> float:
        alphas = np.array([posteriors[label].alpha for label in self.arms.labels])
        betas = np.array([posteriors[label].beta for label in self.arms.labels])
        revenue = np.asarray(self.arms.multipliers) * base_price * rng.beta(alphas, betas)
        return self.arms.multipliers[int(np.argmax(revenue))]

    def record_feedback(self, segment: str, multiplier: float, *, sold: bool) -> SegmentSummary:
        """Count whether the offer at `multiplier` sold; raises UnknownSegment, UnknownArm, PosteriorUnavailable."""
        check_segment(segment)
        arm = self.arms.find(multiplier)
        posteriors = self.store.record(segment, arm_label(arm), sold=sold, arms=self.arms.labels)
        return self._summary(segment, posteriors)

    def summary(self, segment: str) -> SegmentSummary:
        check_segment(segment)
        return self._summary(segment, self.store.read(segment, self.arms.labels))

    def _summary(self, segment: str, posteriors: dict[str, BetaPosterior]) -> SegmentSummary:
        return SegmentSummary(
            segment=segment,
            arms=tuple(
                ArmSummary(m, posteriors[label].sold, posteriors[label].unsold, posteriors[label].mean)
                for m, label in zip(self.arms.multipliers, self.arms.labels, strict=True)
            ),
        )


def policy_from_settings(settings: RiskloopSettings) -> PricingPolicy:
    """The policy a process builds once at entry: arms and guards from `pricing_api`, posteriors in Redis."""
    pricing = settings.pricing_api
    guards = PriceGuards(pricing.min_price_multiplier, pricing.max_price_multiplier)
    store = redis_posterior_store(
        settings.redis.url, prefix=pricing.redis_key_prefix, timeout_seconds=pricing.redis_timeout_seconds
    )
    return PricingPolicy(PriceArms.build(pricing.price_multipliers, guards), store)

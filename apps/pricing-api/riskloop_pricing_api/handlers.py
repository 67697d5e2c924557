"""What each endpoint does, between the HTTP schemas and the pricing library, with its metrics.

Failures come back as `Rejection`s with the HTTP status and body to send; nothing here raises to BentoML,
whose own error path would turn a 503 into an anonymous 500-style message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskloop_pricing import (
    EventFeatureReader,
    EventFeatures,
    FeatureLookupFailed,
    PosteriorUnavailable,
    PricingPolicy,
    UnknownArm,
    UnknownSegment,
    arm_label,
)
from riskloop_pricing_api.metrics import DEGRADED, FEATURE_FALLBACKS, FEEDBACK, RECOMMENDATIONS
from riskloop_pricing_api.schemas import (
    ArmPosterior,
    ErrorDetail,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    RecommendRequest,
    RecommendResponse,
)


@dataclass(frozen=True)
class Rejection:
    status: int
    body: ErrorResponse


def _invalid(field: str, message: str, kind: str) -> Rejection:
    detail = ErrorDetail(loc=[field], msg=message, type=kind)
    return Rejection(422, ErrorResponse(error=f"1 validation error: {field}: {message}", detail=[detail]))


@dataclass(frozen=True)
class Pricer:
    policy: PricingPolicy
    features: EventFeatureReader

    def recommend(self, request: RecommendRequest, rng: np.random.Generator) -> RecommendResponse:
        reasons: tuple[str, ...] = ()
        try:
            features = self.features.read(request.event_id, request.promoter_id)
        except FeatureLookupFailed as exc:
            features, reasons = EventFeatures(), (str(exc),)
            FEATURE_FALLBACKS.labels("store_failed").inc()
        offer = self.policy.recommend(features, request.base_price, rng, category=request.category, reasons=reasons)
        if offer.degraded:
            DEGRADED.labels("/recommend").inc()
        if features.sell_through_rate_5min is None and not reasons:
            FEATURE_FALLBACKS.labels("event_unknown").inc()
        RECOMMENDATIONS.labels(arm_label(offer.multiplier), offer.segment).inc()
        return RecommendResponse(
            event_id=request.event_id,
            price=offer.price,
            multiplier=offer.multiplier,
            segment=offer.segment,
            features_missing=list(offer.features_missing),
            degraded=offer.degraded,
            reasons=list(offer.reasons),
        )

    def feedback(self, request: FeedbackRequest) -> FeedbackResponse | Rejection:
        try:
            summary = self.policy.record_feedback(request.segment, request.multiplier, sold=request.sold)
        except UnknownSegment as exc:
            return _invalid("segment", str(exc), "unknown_segment")
        except UnknownArm as exc:
            return _invalid("multiplier", str(exc), "unknown_arm")
        except PosteriorUnavailable as exc:
            DEGRADED.labels("/feedback").inc()
            message = f"feedback not recorded: {exc}; retry later"
            return Rejection(503, ErrorResponse(error=message))
        arm = arm_label(self.policy.arms.find(request.multiplier))
        FEEDBACK.labels(arm, "sold" if request.sold else "unsold").inc()
        return FeedbackResponse(
            ok=True,
            segment=summary.segment,
            posterior=[
                ArmPosterior(multiplier=a.multiplier, sold=a.sold, unsold=a.unsold, conversion_mean=a.conversion_mean)
                for a in summary.arms
            ],
        )

"""The BentoML service: `bentoml serve riskloop_pricing_api.service:PricingService` (or the `serve` command).

Endpoints: POST /recommend, POST /feedback; BentoML adds /livez, /readyz, /metrics and /docs.json.
"""

from __future__ import annotations

from typing import Any

import bentoml
import numpy as np

from riskloop_config.settings import load_settings
from riskloop_http import ValidationStatus
from riskloop_pricing import EventFeatureReader, policy_from_settings
from riskloop_pricing_api.handlers import Pricer, Rejection
from riskloop_pricing_api.middleware import API_ROUTES, OpenApiErrors, RequestLatency
from riskloop_pricing_api.online_store import FeastOnlineLookup
from riskloop_pricing_api.schemas import (
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    RecommendRequest,
    RecommendResponse,
)


def _respond(result: FeedbackResponse | Rejection, ctx: bentoml.Context) -> FeedbackResponse | ErrorResponse:
    if isinstance(result, Rejection):
        # Set here rather than raised: BentoML hides the message of any exception mapped to a 5xx.
        ctx.response.status_code = result.status
        return result.body
    return result


@bentoml.service(name="riskloop_pricing", traffic={"timeout": 10}, workers=1)
class PricingService:
    def __init__(self) -> None:
        # Nothing here touches Redis or Feast: a dependency that is down must degrade answers, not keep the
        # worker from starting (BentoML would restart it forever and /readyz would never answer).
        settings = load_settings()
        lookup = FeastOnlineLookup(settings)
        lookup.warm_up()
        features = EventFeatureReader(
            lookup,
            timeout_seconds=settings.pricing_api.feature_timeout_seconds,
            backoff_seconds=settings.pricing_api.feature_backoff_seconds,
        )
        self.pricer = Pricer(policy_from_settings(settings), features)

    def __is_ready__(self) -> bool:
        # Ready once constructed: /recommend answers even with Redis or Feast down, flagged in the body.
        return True

    @bentoml.api(route="/recommend", input_spec=RecommendRequest, output_spec=RecommendResponse)
    def recommend(self, **body: Any) -> RecommendResponse:
        """The price to offer for an event now: Thompson sampling over the multipliers of its segment."""
        # A fresh generator per request: numpy generators are not thread-safe and BentoML runs sync APIs in threads.
        return self.pricer.recommend(RecommendRequest(**body), np.random.default_rng())

    @bentoml.api(route="/feedback", input_spec=FeedbackRequest, output_spec=FeedbackResponse)
    def feedback(self, ctx: bentoml.Context, **body: Any) -> FeedbackResponse | ErrorResponse:
        """Whether an offer sold: updates the segment's posterior; 503 while Redis is unreachable."""
        return _respond(self.pricer.feedback(FeedbackRequest(**body)), ctx)


PricingService.add_asgi_middleware(ValidationStatus, routes=API_ROUTES)
PricingService.add_asgi_middleware(OpenApiErrors)
PricingService.add_asgi_middleware(RequestLatency)

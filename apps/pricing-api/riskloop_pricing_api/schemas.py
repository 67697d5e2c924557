"""The HTTP contract of the pricing API: request and response bodies, each field described for OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # A misspelt field must be a 422 naming it, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class RecommendRequest(_Body):
    event_id: str = Field(min_length=1, max_length=128, description="Event to price; its features are looked up.")
    # ge, not gt: BentoML publishes OpenAPI 3.0, where pydantic's numeric exclusiveMinimum is invalid.
    base_price: float = Field(
        ge=0.01, le=1e9, allow_inf_nan=False, description="The event's base price in its currency, at least 0.01."
    )
    promoter_id: str | None = Field(
        None, min_length=1, max_length=128, description="Event's promoter, needed for the historical event features."
    )
    category: str | None = Field(
        None, min_length=1, max_length=64, description="Event category (e.g. concerts); unknown ones are pooled."
    )


class RecommendResponse(BaseModel):
    event_id: str = Field(description="The event priced.")
    price: float = Field(description="Price to offer: base_price * multiplier.")
    multiplier: float = Field(description="Chosen multiplier of the base price; send it back with /feedback.")
    segment: str = Field(description="Segment whose posteriors chose the price; send it back with /feedback.")
    features_missing: list[str] = Field(description="Event features the online store had no value for.")
    degraded: bool = Field(description="True when the posteriors were unreachable and the uniform prior was used.")
    reasons: list[str] = Field(description="Why the answer is degraded or on the default segment; empty otherwise.")


class FeedbackRequest(_Body):
    event_id: str = Field(min_length=1, max_length=128, description="Event the offer was for.")
    segment: str = Field(min_length=1, max_length=64, description="`segment` from the /recommend answer.")
    multiplier: float = Field(
        ge=0.01, le=100, allow_inf_nan=False, description="`multiplier` from the /recommend answer (an offered arm)."
    )
    sold: bool = Field(description="Whether the buyer bought at the offered price.")


class ArmPosterior(BaseModel):
    multiplier: float = Field(description="The arm.")
    sold: int = Field(description="Offers at this arm that sold.")
    unsold: int = Field(description="Offers at this arm that did not sell.")
    conversion_mean: float = Field(description="Posterior mean of P(sale) under a Beta(1, 1) prior.")


class FeedbackResponse(BaseModel):
    ok: bool = Field(description="True when the outcome was recorded.")
    segment: str = Field(description="The segment updated.")
    posterior: list[ArmPosterior] = Field(description="The segment's posteriors right after this outcome.")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Path of the offending field in the request body.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="Machine-readable error kind.")


class ErrorResponse(BaseModel):
    error: str = Field(description="One-line summary.")
    detail: list[ErrorDetail] = Field(default_factory=list, description="One entry per offending field.")

"""The fraud API's request and response bodies (TRANSACTION_SCHEMA's fields; the ones any model needs to
find its online features are required)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_INT32_MAX = 2**31 - 1
_ID = {"min_length": 1, "max_length": 256}


class Transaction(BaseModel):
    # A misspelt field would otherwise be scored as missing without anyone noticing.
    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(description="Id of the purchase attempt; echoed in the result.", **_ID)
    user_id: str = Field(description="Buyer id: the key of the user feature views.", **_ID)
    event_id: str = Field(description="Event id: the key of the event feature views.", **_ID)
    promoter_id: str = Field(description="Promoter of the event.", **_ID)
    amount: float = Field(ge=0, le=1e9, allow_inf_nan=False, description="Total charged, in `currency`.")
    tickets: int = Field(ge=1, le=_INT32_MAX, description="Tickets in the purchase.")
    event_timestamp: datetime | None = Field(
        None, description="When the purchase was attempted (ISO-8601, with offset)."
    )
    venue_id: str | None = Field(None, max_length=256, description="Venue of the event.")
    event_category: str | None = Field(None, max_length=256, description="Category of the event, e.g. concert.")
    ticket_tier: str | None = Field(None, max_length=256, description="Ticket tier, e.g. vip.")
    unit_price: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False, description="Price of one ticket.")
    currency: str | None = Field(None, max_length=16, description="ISO-4217 currency code.")
    payment_method: str | None = Field(None, max_length=256, description="Payment method, e.g. card.")
    card_fingerprint: str | None = Field(None, max_length=256, description="Fingerprint of the card used.")
    device_id: str | None = Field(None, max_length=256, description="Device the purchase came from.")
    ip_address: str | None = Field(None, max_length=64, description="Client IP address.")
    country: str | None = Field(None, max_length=64, description="Country of the buyer (ISO-3166 alpha-2).")
    channel: str | None = Field(None, max_length=64, description="Sales channel, e.g. web or app.")


class Reason(BaseModel):
    feature: str = Field(description="Model feature name.")
    value: Any = Field(description="The value the model saw; null when missing.")
    contribution: float = Field(description="SHAP contribution in log-odds; positive pushes towards fraud.")


class Prediction(BaseModel):
    transaction_id: str = Field(description="The request's transaction_id.")
    fraud_score: float = Field(description="Probability of fraud in [0, 1].")
    is_fraud: bool = Field(description="fraud_score >= the model's stored threshold.")
    model_version: str = Field(description="Registered MLflow version that scored this transaction.")
    reasons: list[Reason] = Field(description="Features with the largest |contribution|, largest first.")
    missing_features: list[str] = Field(description="Model features with no value (online store or request).")
    degraded: bool = Field(description="True when the online store was unreachable: every online feature missing.")
    published: bool = Field(
        description="False when this prediction was not handed to a connected predictions-topic producer (broker "
        "unreachable, buffer full, or publishing switched off): monitoring sees it only if the broker comes back "
        "before the publisher's buffer fills. A handed-over prediction the broker did not take is sent again (at "
        "least once). The score is not affected."
    )


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="One per transaction, in request order.")


class ReloadResponse(BaseModel):
    status: str = Field(description="`reloaded` on success.")
    version: str = Field(description="Version every worker of the server serves now.")
    previous_version: str | None = Field(description="Version served before the reload.")
    workers: int = Field(description="Worker processes serving `version` (all of the server's live workers).")


"""The Feast objects of Riskloop, defined once: entities, sources, feature views, feature services.

Entities are module constants. Sources (and so views and services) depend on where the offline tables
live, so `feature_definitions(offline_root)` builds them; feature_repo/definitions.py re-exports one
instance for `feast apply`, and code and tests build their own against their own folder or bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource
from feast.types import Float64, Int64, String
from feast.value_type import ValueType

from riskloop_features.names import (
    EVENT_HISTORICAL_VIEW,
    EVENT_KEY,
    EVENT_REALTIME_VIEW,
    FRAUD_MODEL_FEATURES,
    FRAUD_MODEL_SERVICE,
    PROMOTER_KEY,
    TIMESTAMP_FIELD,
    USER_BEHAVIOR_VIEW,
    USER_KEY,
    USER_REALTIME_VIEW,
    offline_table_path,
)

OWNER = "ml-platform@riskloop.dev"
_TAGS = {"team": "fraud", "system": "riskloop"}

# --- Entities ------------------------------------------------------------------------------------------

user_entity = Entity(
    name="user",
    join_keys=[USER_KEY],
    value_type=ValueType.STRING,
    description="A buyer account; user_id exactly as in raw transactions.",
    owner=OWNER,
    tags=_TAGS,
)

event_entity = Entity(
    name="event",
    join_keys=[EVENT_KEY],
    value_type=ValueType.STRING,
    description="A ticketed event (concert, match, show) from the event catalog.",
    owner=OWNER,
    tags=_TAGS,
)

promoter_entity = Entity(
    name="promoter",
    join_keys=[PROMOTER_KEY],
    value_type=ValueType.STRING,
    description="The organiser selling an event's tickets.",
    owner=OWNER,
    tags=_TAGS,
)

ENTITIES = (user_entity, event_entity, promoter_entity)


@dataclass(frozen=True)
class FeatureDefinitions:
    """Every source, view and service, against one offline root; `objects()` is what `apply` takes."""

    event_realtime_source: FileSource
    event_realtime_push_source: PushSource
    event_historical_source: FileSource
    user_behavior_source: FileSource
    user_realtime_source: FileSource
    user_realtime_push_source: PushSource
    event_realtime_metrics_fv: FeatureView
    event_historical_metrics_fv: FeatureView
    user_purchase_behavior_fv: FeatureView
    user_realtime_fraud_fv: FeatureView
    fraud_model_v1_service: FeatureService

    def views(self) -> tuple[FeatureView, ...]:
        return (
            self.event_realtime_metrics_fv,
            self.event_historical_metrics_fv,
            self.user_purchase_behavior_fv,
            self.user_realtime_fraud_fv,
        )

    def objects(self) -> list[object]:
        return [
            *ENTITIES,
            self.event_realtime_source,
            self.event_realtime_push_source,
            self.event_historical_source,
            self.user_behavior_source,
            self.user_realtime_source,
            self.user_realtime_push_source,
            *self.views(),
            self.fraud_model_v1_service,
        ]


def feature_definitions(offline_root: str, *, s3_endpoint_override: str | None = None) -> FeatureDefinitions:
    """All sources, feature views and the fraud feature service over the offline tables under `offline_root`."""

    # --- Sources ---------------------------------------------------------------------------------------

    def file_source(view: str, description: str) -> FileSource:
        return FileSource(
            name=f"{view}_source",
            path=offline_table_path(offline_root, view),
            timestamp_field=TIMESTAMP_FIELD,
            s3_endpoint_override=s3_endpoint_override,
            description=description,
            owner=OWNER,
            tags=_TAGS,
        )

    event_realtime_source = file_source(
        EVENT_REALTIME_VIEW, "Offline history of the event real-time windows, written by the batch job."
    )
    event_realtime_push_source = PushSource(
        name=f"{EVENT_REALTIME_VIEW}_push_source",
        batch_source=event_realtime_source,
        description="The stream worker pushes event window values here as they change.",
        owner=OWNER,
        tags=_TAGS,
    )
    event_historical_source = file_source(
        EVENT_HISTORICAL_VIEW, "Daily snapshots of event and promoter sales, written by the batch job."
    )
    user_behavior_source = file_source(
        USER_BEHAVIOR_VIEW, "A user's purchase history and known chargebacks at every change, from the batch job."
    )
    user_realtime_source = file_source(
        USER_REALTIME_VIEW, "Offline history of the user real-time windows, written by the batch job."
    )
    user_realtime_push_source = PushSource(
        name=f"{USER_REALTIME_VIEW}_push_source",
        batch_source=user_realtime_source,
        description="The stream worker pushes user window values here as they change.",
        owner=OWNER,
        tags=_TAGS,
    )

    # --- Feature views ---------------------------------------------------------------------------------

    event_realtime_metrics_fv = FeatureView(
        name=EVENT_REALTIME_VIEW,
        entities=[event_entity],
        ttl=timedelta(minutes=60),
        schema=[
            Field(name="current_inventory", dtype=Int64, description="Capacity minus tickets bought before t."),
            Field(
                name="sell_through_rate_5min",
                dtype=Float64,
                description="Tickets bought in [t-5min, t) divided by capacity.",
            ),
            Field(
                name="concurrent_viewers",
                dtype=Int64,
                description="Distinct users who bought tickets for the event in [t-5min, t): the platform sees "
                "purchases, not page views, so this counts active buyers.",
            ),
        ],
        source=event_realtime_push_source,
        online=True,
        description="Sliding windows over an event's purchases in tiles of 1/60 of the window (5 s for 5 min): "
        "[t-w, t) plus the rest of its oldest tile. Values change on arrival and when a tile leaves.",
        owner=OWNER,
        tags={**_TAGS, "freshness": "realtime"},
    )

    event_historical_metrics_fv = FeatureView(
        name=EVENT_HISTORICAL_VIEW,
        entities=[event_entity, promoter_entity],
        ttl=timedelta(days=365),
        schema=[
            Field(name="total_tickets_sold", dtype=Int64, description="Tickets of the event bought before the day."),
            Field(
                name="avg_ticket_price",
                dtype=Float64,
                description="Amount paid per ticket of the event, over purchases before the day.",
            ),
            Field(
                name="promoter_success_rate",
                dtype=Float64,
                description="Tickets the promoter sold before the day divided by the capacity of the promoter's "
                "events on sale by then (catalog sell-through).",
            ),
        ],
        source=event_historical_source,
        online=True,
        description="Daily snapshots (effective at 00:00 UTC) of sales before that midnight.",
        owner=OWNER,
        tags={**_TAGS, "freshness": "daily"},
    )

    user_purchase_behavior_fv = FeatureView(
        name=USER_BEHAVIOR_VIEW,
        entities=[user_entity],
        ttl=timedelta(days=365),
        schema=[
            Field(name="lifetime_purchases", dtype=Int64, description="The user's purchases before t."),
            Field(
                name="fraud_risk_score",
                dtype=Float64,
                description="Smoothed chargeback rate: (chargebacks known before t + prior) / (purchases before t "
                "+ prior strength). Only chargebacks already received count; never the scored purchase's label.",
            ),
            Field(
                name="preferred_category",
                dtype=String,
                description="The event category the user bought most before t (the first to reach the top count).",
            ),
        ],
        source=user_behavior_source,
        online=True,
        description="A user's purchase history and known chargebacks, at every purchase and chargeback.",
        owner=OWNER,
        tags={**_TAGS, "freshness": "hourly"},
    )

    user_realtime_fraud_fv = FeatureView(
        name=USER_REALTIME_VIEW,
        entities=[user_entity],
        ttl=timedelta(hours=2),
        schema=[
            Field(name="user_txn_count_1h", dtype=Int64, description="The user's purchases in [t-1h, t)."),
            Field(name="user_txn_amount_1h", dtype=Float64, description="Amount of the user's purchases in [t-1h, t)."),
            Field(
                name="user_distinct_events_1h",
                dtype=Int64,
                description="Distinct events the user bought for in [t-1h, t).",
            ),
            Field(
                name="user_avg_amount_24h",
                dtype=Float64,
                description="Mean purchase amount in [t-24h, t); null without purchases in that day.",
            ),
        ],
        source=user_realtime_push_source,
        online=True,
        description="Sliding windows over a user's purchases in tiles of 1/60 of the window (1 min for 1 h, 24 min "
        "for 24 h): [t-w, t) plus the rest of its oldest tile. Values change on arrival and when a tile leaves.",
        owner=OWNER,
        tags={**_TAGS, "freshness": "realtime"},
    )

    # --- Feature services ------------------------------------------------------------------------------

    views = {
        fv.name: fv
        for fv in (
            event_realtime_metrics_fv,
            event_historical_metrics_fv,
            user_purchase_behavior_fv,
            user_realtime_fraud_fv,
        )
    }
    fraud_model_v1_service = FeatureService(
        name=FRAUD_MODEL_SERVICE,
        features=_projections(views),
        description="The feature vector of fraud model v1, in FRAUD_MODEL_FEATURES order.",
        owner=OWNER,
        tags={**_TAGS, "model": "fraud", "version": "1"},
    )

    return FeatureDefinitions(
        event_realtime_source=event_realtime_source,
        event_realtime_push_source=event_realtime_push_source,
        event_historical_source=event_historical_source,
        user_behavior_source=user_behavior_source,
        user_realtime_source=user_realtime_source,
        user_realtime_push_source=user_realtime_push_source,
        event_realtime_metrics_fv=event_realtime_metrics_fv,
        event_historical_metrics_fv=event_historical_metrics_fv,
        user_purchase_behavior_fv=user_purchase_behavior_fv,
        user_realtime_fraud_fv=user_realtime_fraud_fv,
        fraud_model_v1_service=fraud_model_v1_service,
    )


def _projections(views: dict[str, FeatureView]) -> list[object]:
    # One projection per view, in the order the views first appear in FRAUD_MODEL_FEATURES.
    wanted: dict[str, list[str]] = {}
    for reference in FRAUD_MODEL_FEATURES:
        view, feature = reference.split(":")
        wanted.setdefault(view, []).append(feature)
    return [views[view][features] for view, features in wanted.items()]

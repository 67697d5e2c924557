"""The Feast repo's definitions: what `feast apply` registers. Nothing is defined here; the objects come
from riskloop_features, built for this environment's offline root (read once from the settings, as at any
process entry)."""

from __future__ import annotations

from riskloop_config.settings import settings_or_exit
from riskloop_features.definitions import event_entity, feature_definitions, promoter_entity, user_entity

_settings = settings_or_exit()
_definitions = feature_definitions(_settings.feast.offline_root, s3_endpoint_override=_settings.s3.endpoint_url)

# Entities: imported above under their own names (user_entity, event_entity, promoter_entity).
__all__ = [
    "user_entity",
    "event_entity",
    "promoter_entity",
    "event_realtime_source",
    "event_realtime_push_source",
    "event_historical_source",
    "user_behavior_source",
    "user_realtime_source",
    "user_realtime_push_source",
    "event_realtime_metrics_fv",
    "event_historical_metrics_fv",
    "user_purchase_behavior_fv",
    "user_realtime_fraud_fv",
    "fraud_model_v1_service",
]

# Sources.
event_realtime_source = _definitions.event_realtime_source
event_realtime_push_source = _definitions.event_realtime_push_source
event_historical_source = _definitions.event_historical_source
user_behavior_source = _definitions.user_behavior_source
user_realtime_source = _definitions.user_realtime_source
user_realtime_push_source = _definitions.user_realtime_push_source

# Feature views.
event_realtime_metrics_fv = _definitions.event_realtime_metrics_fv
event_historical_metrics_fv = _definitions.event_historical_metrics_fv
user_purchase_behavior_fv = _definitions.user_purchase_behavior_fv
user_realtime_fraud_fv = _definitions.user_realtime_fraud_fv

# Feature services.
fraud_model_v1_service = _definitions.fraud_model_v1_service

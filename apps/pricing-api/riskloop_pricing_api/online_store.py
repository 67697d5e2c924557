"""The one place the pricing API wires Feast: an online lookup over the configured feature store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from riskloop_config.settings import RiskloopSettings

logger = logging.getLogger(__name__)


class FeastOnlineLookup:
    """`EventFeatureReader`'s lookup over Feast. The store is built on first use (or `warm_up`), not required
    at start, so a missing registry degrades prices instead of keeping the service from starting."""

    def __init__(self, settings: RiskloopSettings) -> None:
        self._settings = settings
        self._store: Any = None
        self._lock = threading.Lock()

    def _feature_store(self) -> Any:
        with self._lock:
            if self._store is None:
                from riskloop_features import feature_store

                self._store = feature_store(self._settings.feast, redis=self._settings.redis)
            return self._store

    def warm_up(self) -> None:
        """Build the store now (importing Feast takes about a second) so the first request is not slow."""
        try:
            self._feature_store()
        except Exception as exc:  # retried on each request; the failure shows in their `reasons`
            logger.warning("Feast feature store not available yet: %s", exc)

    def __call__(self, refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        response = self._feature_store().get_online_features(features=list(refs), entity_rows=[dict(r) for r in rows])
        return response.to_dict()

"""Reading an event's features through an injected online lookup, so the service wires Feast in one place.

The lookup has the shape of `FeatureStore.get_online_features(features=..., entity_rows=...).to_dict()`:
it takes feature references (`view:feature`) and entity rows and returns `{feature_name: [value per row]}`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from riskloop_features import EVENT_HISTORICAL_VIEW, EVENT_KEY, EVENT_REALTIME_VIEW, PROMOTER_KEY
from riskloop_pricing.segments import EventFeatures

OnlineLookup = Callable[[Sequence[str], Sequence[Mapping[str, str]]], Mapping[str, Sequence[object]]]

REALTIME_FEATURES: tuple[str, ...] = ("current_inventory", "sell_through_rate_5min", "concurrent_viewers")
HISTORICAL_FEATURES: tuple[str, ...] = ("total_tickets_sold", "avg_ticket_price", "promoter_success_rate")


class FeatureLookupFailed(RuntimeError):
    """The online store could not be read; the caller prices on the default segment."""


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class EventFeatureReader:
    """Reads event features, bounding what a sick store can cost: each lookup gets `timeout_seconds`, and
    after a failure lookups pause for `backoff_seconds` (a down Redis makes Feast retry for seconds per call)."""

    def __init__(
        self,
        lookup: OnlineLookup,
        *,
        timeout_seconds: float | None = None,
        backoff_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookup = lookup
        self.timeout_seconds = timeout_seconds
        self.backoff_seconds = backoff_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until = float("-inf")
        self._last_failure = ""
        # Few threads: with the pause, at most a handful of lookups can be stuck on a dead store at once.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="feature-lookup") if timeout_seconds else None

    def _call(self, refs: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Mapping[str, Sequence[object]]:
        if self._pool is None:
            return self.lookup(refs, rows)
        future = self._pool.submit(self.lookup, refs, rows)
        try:
            return future.result(timeout=self.timeout_seconds)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer within {self.timeout_seconds}s") from None

    def feature_refs(self, *, with_promoter: bool) -> tuple[str, ...]:
        refs = tuple(f"{EVENT_REALTIME_VIEW}:{name}" for name in REALTIME_FEATURES)
        if with_promoter:
            # The historical view is keyed by (event, promoter): without a promoter it cannot be asked.
            refs += tuple(f"{EVENT_HISTORICAL_VIEW}:{name}" for name in HISTORICAL_FEATURES)
        return refs

    def read(self, event_id: str, promoter_id: str | None = None) -> EventFeatures:
        row = {EVENT_KEY: str(event_id)}
        if promoter_id is not None:
            row[PROMOTER_KEY] = str(promoter_id)
        with self._lock:
            if self._clock() < self._paused_until:
                raise FeatureLookupFailed(f"online feature lookups paused after a failure: {self._last_failure}")
        try:
            result = self._call(self.feature_refs(with_promoter=promoter_id is not None), [row])
        except Exception as exc:  # any store failure means "no features", never a failed price
            failure = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._paused_until = self._clock() + self.backoff_seconds
                self._last_failure = failure
            raise FeatureLookupFailed(f"online feature lookup failed: {failure}") from exc
        values: dict[str, float | None] = {}
        for name in EventFeatures.names():
            column = result.get(name) or result.get(f"{EVENT_REALTIME_VIEW}__{name}") or result.get(
                f"{EVENT_HISTORICAL_VIEW}__{name}"
            )
            values[name] = _number(column[0]) if column else None
        return EventFeatures(**values)

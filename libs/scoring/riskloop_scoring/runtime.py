"""One worker's fraud scoring: the scorer, its online reader and publisher, reloads and following the
other workers' reloads. The BentoML service is a thin shell over this.

Never raises at start: with no champion (or MLflow down) the worker starts unready and keeps trying in
the background, so the server comes up and reports why instead of crash-looping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskloop_config.settings import RiskloopSettings
from riskloop_scoring import metrics
from riskloop_scoring.champion import ModelLoadFailed, NoChampion, load_snapshot
from riskloop_scoring.online import RedisFeatureReader
from riskloop_scoring.publisher import PredictionPublisher
from riskloop_scoring.rollout import VersionBoard
from riskloop_scoring.scorer import FeatureReader, Score, Scorer, Snapshot

logger = logging.getLogger(__name__)


class ReloadFailed(RuntimeError):
    """The champion could not be loaded; the model that was serving still serves."""


@dataclass(frozen=True)
class ReloadResult:
    version: str
    previous_version: str | None


class FraudScoring:
    def __init__(
        self,
        settings: RiskloopSettings,
        *,
        board_path: Path,
        reader: FeatureReader | None = None,
        publisher: PredictionPublisher | None = None,
    ) -> None:
        api = settings.fraud_api
        self._settings = settings
        if settings.feast.online_store != "redis":
            logger.warning("feast.online_store=%s: the fraud API reads only Redis; scores will be degraded",
                           settings.feast.online_store)
        self._reader = reader or RedisFeatureReader(
            settings.redis,
            project=settings.feast.project,
            timeout_seconds=api.redis_timeout_seconds,
            retry_seconds=api.redis_retry_seconds,
        )
        if publisher is None and api.publish_predictions:
            publisher = PredictionPublisher(
                settings.kafka,
                queue_size=api.predictions_queue_size,
                on_drop=lambda n: metrics.PREDICTIONS_DROPPED.inc(n),
            )
        self._publisher = publisher
        self._scorer = Scorer(self._reader, top_k=api.reasons_top_k)
        self._board = VersionBoard(board_path)
        self._seen_generation = 0
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self.last_error: str | None = None
        self._initial_load()
        self._follower = threading.Thread(target=self._follow, name="model-follower", daemon=True)
        self._follower.start()

    # --- state -------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        return self._scorer.snapshot

    @property
    def ready(self) -> bool:
        return self._scorer.snapshot is not None

    def model_age_seconds(self) -> float | None:
        snapshot = self._scorer.snapshot
        if snapshot is None or snapshot.registered_at is None:
            return None
        return (datetime.now(UTC) - snapshot.registered_at).total_seconds()

    # --- scoring -----------------------------------------------------------------------------------

    def predict(self, transactions: Sequence[Mapping[str, Any]]) -> list[Score]:
        """Score a batch (raises `NoModelLoaded`), record metrics, publish each score."""
        started = time.perf_counter()
        scores = self._scorer.score(transactions)
        metrics.LATENCY.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(transactions))
        for score in scores:
            metrics.SCORE.observe(score.fraud_score)
            for feature in score.missing_features:
                metrics.FEATURE_MISSES.labels(feature).inc()
        if scores and scores[0].degraded:
            metrics.DEGRADED.inc(len(scores))
        if self._publisher is not None:
            for txn, score in zip(transactions, scores, strict=True):
                self._publisher.publish(score.transaction_id, _prediction_record(txn, score))
        return scores

    # --- reloads -----------------------------------------------------------------------------------

    def reload(self) -> ReloadResult:
        """Load the current champion, swap it in here and tell the other workers. Raises `NoChampion`
        or `ReloadFailed`; either way the previous model keeps serving."""
        with self._reload_lock:
            previous = self._scorer.snapshot
            try:
                snapshot = load_snapshot(self._settings.mlflow, self._reader)
            except (NoChampion, ModelLoadFailed) as exc:
                metrics.RELOADS.labels("failed", "admin").inc()
                self.last_error = str(exc)
                if isinstance(exc, NoChampion):
                    raise
                raise ReloadFailed(str(exc)) from None
            # Recorded for the other workers before swapping here: if that fails, nothing changed anywhere.
            try:
                wanted = self._board.post(snapshot.version)
            except OSError as exc:
                metrics.RELOADS.labels("failed", "admin").inc()
                reason = f"version {snapshot.version} loaded but not shared with the other workers: {exc}"
                raise ReloadFailed(reason) from None
            self._install(snapshot, "admin")
            self._seen_generation = wanted.generation
        return ReloadResult(snapshot.version, previous.version if previous else None)

    def _install(self, snapshot: Snapshot, trigger: str) -> None:
        previous = self._scorer.swap(snapshot)
        if previous is not None and previous.version != snapshot.version:
            metrics.MODEL_INFO.labels(previous.version).set(0)
        metrics.MODEL_INFO.labels(snapshot.version).set(1)
        if snapshot.registered_at is not None:
            metrics.MODEL_REGISTERED.set(snapshot.registered_at.timestamp())
        metrics.RELOADS.labels("ok", trigger).inc()
        self.last_error = None
        logger.info("serving model version %s (%s)", snapshot.version, trigger)

    def _initial_load(self) -> None:
        # A restarted worker joins the version the others serve; a fresh server starts on the champion.
        wanted = self._board.read()
        try:
            snapshot = load_snapshot(self._settings.mlflow, self._reader, wanted.version if wanted else None)
        except (NoChampion, ModelLoadFailed) as exc:
            metrics.RELOADS.labels("failed", "startup").inc()
            if str(exc) != self.last_error:
                logger.warning("no model to serve yet: %s", exc)
            self.last_error = str(exc)
            return
        self._install(snapshot, "startup")
        if wanted is not None:
            self._seen_generation = wanted.generation

    def _follow(self) -> None:
        poll = self._settings.fraud_api.reload_poll_seconds
        while not self._stop.wait(poll):
            try:
                self._follow_once()
            except Exception:  # noqa: BLE001 - the follower must outlive any one bad poll
                logger.exception("model follower poll failed")

    def _follow_once(self) -> None:
        wanted = self._board.read()
        current = self._scorer.snapshot
        if wanted is not None and wanted.generation > self._seen_generation:
            if current is not None and current.version == wanted.version:
                self._seen_generation = wanted.generation
                return
            with self._reload_lock:
                try:
                    snapshot = load_snapshot(self._settings.mlflow, self._reader, wanted.version)
                except (NoChampion, ModelLoadFailed) as exc:
                    metrics.RELOADS.labels("failed", "follow").inc()
                    self.last_error = str(exc)
                    return
                self._install(snapshot, "follow")
                self._seen_generation = wanted.generation
        elif current is None:
            # No model yet: keep trying the champion, so the worker becomes ready once one is registered.
            with self._reload_lock:
                if self._scorer.snapshot is None:
                    self._initial_load()

    def close(self) -> None:
        self._stop.set()
        if self._publisher is not None:
            self._publisher.close()
        close = getattr(self._reader, "close", None)
        if close is not None:
            close()


def _prediction_record(txn: Mapping[str, Any], score: Score) -> dict[str, Any]:
    return {
        "transaction_id": score.transaction_id,
        "user_id": txn.get("user_id"),
        "event_id": txn.get("event_id"),
        "fraud_score": score.fraud_score,
        "is_fraud": score.is_fraud,
        "model_version": score.model_version,
        "degraded": score.degraded,
        "missing_features": list(score.missing_features),
        "scored_at": datetime.now(UTC).isoformat(),
    }

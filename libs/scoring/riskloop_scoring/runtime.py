"""One worker's fraud scoring: the scorer, its online reader and publisher, reloads and following the
other workers' reloads. The BentoML service is a thin shell over this.

Never raises at start: with no champion (or MLflow down) the worker starts unready and keeps trying in
the background, so the server comes up and reports why instead of crash-looping.
"""

from __future__ import annotations

import logging
import os
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
from riskloop_scoring.rollout import VersionBoard, WantedVersion, WorkerState
from riskloop_scoring.scorer import FeatureReader, Score, Scorer, Snapshot

logger = logging.getLogger(__name__)


class ReloadFailed(RuntimeError):
    """The champion could not be loaded; the model that was serving still serves."""


class WorkersBehind(RuntimeError):
    """The new version serves in this worker, but other workers did not confirm it in time (they keep trying)."""


@dataclass(frozen=True)
class ScoredBatch:
    scores: list[Score]
    # False when a score of the batch was not handed to a connected predictions producer (broker down or
    # buffer full): monitoring may never see it.
    published: bool


@dataclass(frozen=True)
class ReloadResult:
    version: str
    previous_version: str | None
    workers: int  # live workers serving `version` when the reload answered, this one included


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
                flush_seconds=api.predictions_flush_seconds,
                on_drop=lambda n: metrics.PREDICTIONS_DROPPED.inc(n),
            )
        self._publisher = publisher
        self._dependencies_up: dict[str, bool] = {}
        self._scorer = Scorer(self._reader, top_k=api.reasons_top_k)
        self._board = VersionBoard(board_path)
        self._pid = os.getpid()
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

    def predict(self, transactions: Sequence[Mapping[str, Any]]) -> ScoredBatch:
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
        if scores:
            self._record_dependency("online_store", up=not scores[0].degraded)
        if self._publisher is None:  # publishing switched off (fraud_api.publish_predictions)
            return ScoredBatch(scores, published=False)
        published = True
        for txn, score in zip(transactions, scores, strict=True):
            published &= self._publisher.publish(score.transaction_id, _prediction_record(txn, score))
        self._record_dependency("predictions_topic", up=published)
        return ScoredBatch(scores, published)

    def _record_dependency(self, dependency: str, *, up: bool) -> None:
        # Set only on a change: in multiprocess mode each set is a write to a shared file.
        if self._dependencies_up.get(dependency) != up:
            self._dependencies_up[dependency] = up
            metrics.DEPENDENCY_UP.labels(dependency).set(1 if up else 0)

    # --- reloads -----------------------------------------------------------------------------------

    def reload(self) -> ReloadResult:
        """Load the current champion, swap it in here, tell the other workers and wait until they all serve
        it. Raises `NoChampion` or `ReloadFailed` (the previous model keeps serving), or `WorkersBehind`."""
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
            self._seen_generation = wanted.generation
            self._install(snapshot, "admin")
        workers = self._await_workers(wanted)
        return ReloadResult(snapshot.version, previous.version if previous else None, workers)

    def _await_workers(self, wanted: WantedVersion) -> int:
        """Until every other live worker reports `wanted` (or a later reload); the number of workers serving
        it. Raises `WorkersBehind` naming the ones that failed or did not answer within reload_wait_seconds."""
        deadline = time.monotonic() + self._settings.fraud_api.reload_wait_seconds
        while True:
            others = [w for w in self._board.workers() if w.pid != self._pid]
            behind = [w for w in others if w.generation < wanted.generation or w.error]
            failed = [w for w in behind if w.generation >= wanted.generation]
            if not behind:
                return 1 + len(others)
            if len(failed) == len(behind) or time.monotonic() >= deadline:
                serving = 1 + len(others) - len(behind)
                details = "; ".join(
                    f"worker {w.pid} serves {w.version or 'no model'}"
                    + (f" ({w.error})" if w.error else " (not switched yet)")
                    for w in behind
                )
                raise WorkersBehind(
                    f"version {wanted.version} serves in {serving} of {1 + len(others)} workers; {details}; "
                    "those workers keep trying"
                )
            time.sleep(0.05)

    def _report(self, error: str | None = None, *, generation: int | None = None) -> None:
        """Tell the board what this worker serves (for a reload waiting on the workers): as of
        `_seen_generation`, or of the `generation` it failed to follow."""
        current = self._scorer.snapshot
        version = current.version if current else None
        state = WorkerState(self._pid, self._seen_generation if generation is None else generation, version, error)
        try:
            self._board.report(state)
        except OSError as exc:
            logger.warning("could not report this worker's model version: %s", exc)

    def _install(self, snapshot: Snapshot, trigger: str) -> None:
        """Serve `snapshot` (set `_seen_generation` first: the report carries it)."""
        previous = self._scorer.swap(snapshot)
        if previous is not None and previous.version != snapshot.version:
            metrics.MODEL_INFO.labels(previous.version).set(0)
        metrics.MODEL_INFO.labels(snapshot.version).set(1)
        if snapshot.registered_at is not None:
            metrics.MODEL_REGISTERED.set(snapshot.registered_at.timestamp())
        metrics.RELOADS.labels("ok", trigger).inc()
        self.last_error = None
        self._report()
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
            self._report(str(exc))
            return
        if wanted is not None:
            self._seen_generation = wanted.generation
        self._install(snapshot, "startup")

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
                self._report()
                return
            with self._reload_lock:
                try:
                    snapshot = load_snapshot(self._settings.mlflow, self._reader, wanted.version)
                except (NoChampion, ModelLoadFailed) as exc:
                    metrics.RELOADS.labels("failed", "follow").inc()
                    self.last_error = str(exc)
                    # `_seen_generation` stays behind, so the next poll tries again.
                    self._report(str(exc), generation=wanted.generation)
                    return
                self._seen_generation = wanted.generation
                self._install(snapshot, "follow")
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

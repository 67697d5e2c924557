"""A reload waits for the server's other workers. Here the other worker is played by a report on the board
from a live process that does not score (a `sleep`): how a worker that follows, fails or hangs looks to the
reloading one. Real workers following each other are tested over HTTP in apps/fraud-api."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskloop_config.settings import MlflowSettings, RiskloopSettings, load_settings
from riskloop_scoring.rollout import VersionBoard, WorkerState
from riskloop_scoring.runtime import FraudScoring, WorkersBehind
from riskloop_scoring.testing_models import NoOnlineStore, local_mlflow, register_model, train_booster


@pytest.fixture(scope="module")
def mlflow_settings(tmp_path_factory: pytest.TempPathFactory) -> MlflowSettings:
    settings = local_mlflow(tmp_path_factory.mktemp("mlflow"))
    booster, metadata = train_booster(rounds=5)
    register_model(settings, booster, metadata)
    return settings


@pytest.fixture
def settings(mlflow_settings: MlflowSettings, monkeypatch: pytest.MonkeyPatch) -> RiskloopSettings:
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "t")
    monkeypatch.setenv("RISKLOOP_FRAUD_API__RELOAD_WAIT_SECONDS", "2")
    monkeypatch.setenv("RISKLOOP_FRAUD_API__PUBLISH_PREDICTIONS", "false")
    return load_settings().model_copy(update={"mlflow": mlflow_settings})


@pytest.fixture
def other_pid() -> Iterator[int]:
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


def scoring(settings: RiskloopSettings, board: Path) -> FraudScoring:
    return FraudScoring(settings, board_path=board, reader=NoOnlineStore())


@pytest.fixture
def two_workers(
    settings: RiskloopSettings, tmp_path: Path, other_pid: int
) -> Iterator[tuple[VersionBoard, FraudScoring]]:
    """The board, with another live worker on it serving version 1, and this process's worker."""
    board = VersionBoard(tmp_path / "wanted.json")
    board.report(WorkerState(other_pid, 0, "1"))
    worker = scoring(settings, board.path)
    yield board, worker
    worker.close()


def follow_next_reload(board: VersionBoard, pid: int, *, error: str | None = None) -> threading.Thread:
    """Another worker's report for the next generation posted, as its follower would write it."""
    start = board.read()

    def follower() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            wanted = board.read()
            if wanted is not None and wanted != start:
                board.report(WorkerState(pid, wanted.generation, None if error else wanted.version, error))
                return
            time.sleep(0.02)

    thread = threading.Thread(target=follower, daemon=True)
    thread.start()
    return thread


def test_alone_a_reload_answers_at_once_for_one_worker(settings: RiskloopSettings, tmp_path: Path) -> None:
    worker = scoring(settings, tmp_path / "wanted.json")
    try:
        assert worker.reload().workers == 1
    finally:
        worker.close()


def test_a_reload_answers_once_the_other_worker_serves_the_version(
    two_workers: tuple[VersionBoard, FraudScoring], other_pid: int
) -> None:
    board, worker = two_workers
    follower = follow_next_reload(board, other_pid)
    result = worker.reload()
    follower.join()
    assert result.workers == 2
    assert {w.pid: w.version for w in board.workers()}[other_pid] == result.version


def test_a_worker_that_does_not_switch_in_time_is_named(
    settings: RiskloopSettings, two_workers: tuple[VersionBoard, FraudScoring], other_pid: int
) -> None:
    _, worker = two_workers
    started = time.monotonic()
    behind = rf"serves in 1 of 2 workers; worker {other_pid} serves 1 \(not switched yet\)"
    with pytest.raises(WorkersBehind, match=behind):
        worker.reload()
    assert time.monotonic() - started >= settings.fraud_api.reload_wait_seconds
    assert worker.snapshot is not None  # this worker did switch


def test_a_worker_that_failed_to_load_is_reported_without_waiting(
    settings: RiskloopSettings, two_workers: tuple[VersionBoard, FraudScoring], other_pid: int
) -> None:
    board, worker = two_workers
    follow_next_reload(board, other_pid, error="artifacts gone")
    started = time.monotonic()
    with pytest.raises(WorkersBehind, match=rf"worker {other_pid} serves no model \(artifacts gone\)"):
        worker.reload()
    assert time.monotonic() - started < settings.fraud_api.reload_wait_seconds


def test_reports_of_workers_that_are_gone_are_ignored_and_deleted(settings: RiskloopSettings, tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    board = VersionBoard(tmp_path / "wanted.json")
    board.report(WorkerState(gone.pid, 0, "1"))
    worker = scoring(settings, board.path)
    try:
        assert worker.reload().workers == 1
        assert [w.pid for w in board.workers()] == [os.getpid()]
        assert not (tmp_path / f"worker-{gone.pid}.json").exists()
    finally:
        worker.close()

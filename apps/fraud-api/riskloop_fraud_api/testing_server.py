"""Test and benchmark support: a real `bentoml serve` of FraudService on a free port, configured only
through RISKLOOP_* variables like any deployment."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from riskloop_scoring.rollout import VersionBoard, server_board_path
from riskloop_testing.services import (
    ServiceUnavailable,
    free_port,
    stop_process_group,
    subprocess_env,
    wait_for_http,
)

ADMIN_TOKEN = "test-admin-token"


class ServerNotReady(RuntimeError):
    """The served app did not answer /readyz 200 in time; the message carries its log's tail."""


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: Mapping[str, str]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self, *, timeout: float = 90.0) -> None:
        """Until /readyz answers 200 (a champion is loaded)."""
        self._wait(f"{self.url}/readyz", timeout, lambda status: status == 200)

    def wait_all_workers(self, workers: int, *, timeout: float = 90.0) -> None:
        """Until `workers` worker processes serve a model. /readyz answers from whichever worker accepts the
        probe: without this, keep-alive clients connecting at once could all land on the first worker ready."""
        board = VersionBoard(server_board_path(self.process.pid))
        deadline = time.monotonic() + timeout
        while len([w for w in board.workers() if w.version is not None and w.error is None]) < workers:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise ServerNotReady(
                    f"{workers} workers did not all serve a model within {timeout:.0f} s "
                    f"(reports: {board.workers()}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def wait_listening(self, *, timeout: float = 90.0) -> None:
        """Until the server answers at all, ready or not."""
        self._wait(f"{self.url}/livez", timeout, lambda status: True)

    def _wait(self, url: str, timeout: float, accept: Callable[[int], bool]) -> None:
        try:
            wait_for_http(url, process=self.process, log_path=self.log_path, timeout=timeout, accept=accept)
        except ServiceUnavailable as exc:
            raise ServerNotReady(str(exc)) from None


def server_env(
    *,
    redis_host: str,
    redis_port: int,
    redis_db: int,
    tracking_uri: str,
    artifact_location: str | None,
    bootstrap_servers: str,
    data_dir: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {
        key: value
        for key, value in subprocess_env().items()
        if not key.startswith("RISKLOOP_") or key.startswith("RISKLOOP_TEST_")
    }
    env.update(
        {
            "ENVIRONMENT": "local",
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "RISKLOOP_DATA_DIR": str(data_dir),
            "RISKLOOP_REDIS__HOST": redis_host,
            "RISKLOOP_REDIS__PORT": str(redis_port),
            "RISKLOOP_REDIS__DB": str(redis_db),
            "RISKLOOP_MLFLOW__TRACKING_URI": tracking_uri,
            "RISKLOOP_KAFKA__BOOTSTRAP_SERVERS": bootstrap_servers,
            "RISKLOOP_KAFKA__EMBEDDED_BROKER": "false",
            "RISKLOOP_FRAUD_API__ADMIN_TOKEN": ADMIN_TOKEN,
            "RISKLOOP_FRAUD_API__RELOAD_POLL_SECONDS": "0.5",
            # None for a tracking server: it chooses where artifacts go.
            **({"RISKLOOP_MLFLOW__ARTIFACT_LOCATION": artifact_location} if artifact_location is not None else {}),
            **(extra or {}),
        }
    )
    return env


@contextlib.contextmanager
def served(
    env: Mapping[str, str], *, port: int | None = None, ready: bool = True, workers: int = 2
) -> Iterator[RunningServer]:
    """The app's own `serve` command as a subprocess (its own process group), killed with all its workers
    at exit. With `ready`, yielded once all `workers` serve a model."""
    port = port or free_port()
    log_path = Path(tempfile.mkdtemp(prefix="riskloop-fraud-api-")) / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "riskloop_fraud_api", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **env,
                "RISKLOOP_FRAUD_API__HOST": "127.0.0.1",
                "RISKLOOP_FRAUD_API__PORT": str(port),
            },
            start_new_session=True,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path, env)
    try:
        if ready:
            server.wait_ready()
            server.wait_all_workers(workers)
        else:
            server.wait_listening()
        yield server
    finally:
        stop_process_group(process, grace_seconds=15)

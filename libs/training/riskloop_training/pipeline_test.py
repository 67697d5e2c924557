"""The training path end to end against a real MLflow tracking server (Postgres backend store, artifacts
proxied to the moto S3 server), and a real HTTP endpoint standing in for the fraud API's reload route."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from riskloop_config.settings import FraudApiSettings, MlflowSettings

# The root conftest does not export this harness fixture (yet); importing it here makes it available,
# and the tests then name it as a parameter (hence the file-wide F811 waiver above).
from riskloop_training import GatePolicy, NoPreviousChampion, load_champion, promote, rollback
from riskloop_training.model_contract import (
    METADATA_ARTIFACT,
    PREVIOUS_CHAMPION_ALIAS,
    PREVIOUS_CHAMPION_TAG,
    registry_client,
)
from riskloop_training.pipeline import TrainingRequest, train_and_register
from riskloop_training.search import SearchConfig
from riskloop_training.synthetic import synthetic_transactions

if TYPE_CHECKING:
    from riskloop_testing.services import MlflowServer

REQUEST = TrainingRequest(
    label="is_fraud",
    time_column="event_time",
    drop_columns=("transaction_id", "user_id"),
    # One thread: tiny data gains nothing from more, and tests share the machine.
    search=SearchConfig(trials=3, seed=0, max_estimators=150, n_jobs=1),
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_transactions(3000, seed=11, positive_rate=0.08, extra_numeric=3)


def _settings(server: MlflowServer) -> MlflowSettings:
    suffix = uuid.uuid4().hex[:8]
    return MlflowSettings(tracking_uri=server.url, experiment_name=f"exp-{suffix}", model_name=f"fraud-{suffix}")


@dataclass
class ReloadEndpoint:
    url: str
    status: int
    calls: list[tuple[str, str | None]] = field(default_factory=list)


@pytest.fixture
def reload_endpoint() -> Iterator[ReloadEndpoint]:
    """A real HTTP server standing in for the fraud API (which needs a trained model and Redis to start):
    records each request's path and Authorization header, answers `status` with an error body like the API's."""
    endpoint = ReloadEndpoint(url="", status=200)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            endpoint.calls.append((self.path, self.headers.get("Authorization")))
            body = b"{}" if endpoint.status == 200 else b'{"error": "reload failed: no champion"}'
            self.send_response(endpoint.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def test_run_is_logged_registered_and_served_from_a_tracking_server(
    mlflow_server: MlflowServer,
    frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    settings = _settings(mlflow_server)
    outcome = train_and_register(frame, REQUEST, mlflow_settings=settings)

    assert outcome.promoted and outcome.version == "1"
    assert outcome.decision.reason.endswith("no champion yet: floors only")
    client = registry_client(settings)
    run = client.get_run(outcome.run_id)
    assert {"max_depth", "learning_rate", "n_estimators", "subsample", "colsample_bytree", "scale_pos_weight"} <= set(
        run.data.params
    )
    assert run.data.params["split"] == "time"
    for metric in ("roc_auc", "pr_auc", "recall_at_fpr", "brier", "threshold"):
        assert run.data.metrics[metric] == pytest.approx(outcome.metrics.as_dict()[metric])
    assert run.data.tags["riskloop.data_fingerprint"] == outcome.metadata.data_fingerprint
    artifacts = {a.path for a in client.list_artifacts(outcome.run_id)} | {
        a.path for a in client.list_artifacts(outcome.run_id, "plots")
    }
    assert {
        METADATA_ARTIFACT,
        "feature_importance.json",
        "calibration.csv",
        "plots/pr_curve.png",
        "plots/roc_curve.png",
        "plots/calibration.png",
        "plots/feature_importance.png",
    } <= artifacts
    # Artifacts really went through the server's proxy into the S3 bucket.
    local = client.download_artifacts(outcome.run_id, METADATA_ARTIFACT, str(tmp_path))
    metadata = json.loads(Path(local).read_text())
    assert metadata["feature_names"] == list(outcome.metadata.feature_names)
    assert "transaction_id" not in metadata["feature_names"] and "event_time" not in metadata["feature_names"]
    assert metadata["categories"]["country"] == sorted(metadata["categories"]["country"])
    assert metadata["threshold"] == pytest.approx(outcome.metrics.threshold)
    assert metadata["target_fpr"] == 0.01 and metadata["label"] == "is_fraud"
    assert metadata["training_window"]["end"] < str(outcome.split.validation["event_time"].min().isoformat())
    assert len(metadata["data_fingerprint"]) == 64
    assert set(metadata["metrics"]) == {"roc_auc", "pr_auc", "recall_at_fpr", "brier", "threshold"}

    champion = load_champion(settings)
    assert champion.version == "1"
    assert champion.metadata.threshold == pytest.approx(outcome.metrics.threshold)
    # Serving scores raw holdout rows exactly as training scored them.
    served = champion.score(outcome.split.validation)
    from sklearn.metrics import average_precision_score

    assert average_precision_score(outcome.split.validation["is_fraud"], served) == pytest.approx(
        outcome.metrics.pr_auc
    )


def test_worse_challenger_is_rejected_with_reason(mlflow_server: MlflowServer, frame: pd.DataFrame) -> None:
    settings = _settings(mlflow_server)
    champion = train_and_register(frame, REQUEST, mlflow_settings=settings)
    assert champion.promoted

    # Blind to the strongest signals, so worse on the same holdout rows, which the champion also scores.
    blind = replace(REQUEST, drop_columns=(*REQUEST.drop_columns, "tx_count_1h", "amount_vs_user_mean", "country"))
    challenger = train_and_register(frame, blind, mlflow_settings=settings)

    assert not challenger.promoted and not challenger.decision.promote
    assert challenger.version == "2"  # registered all the same, for the audit trail
    assert challenger.decision.champion_metrics is not None
    champion_pr_auc = challenger.decision.champion_metrics["pr_auc"]
    # The champion was re-scored on the challenger's holdout: the same rows it was validated on here.
    assert champion_pr_auc == pytest.approx(champion.metrics.pr_auc)
    assert (
        f"pr_auc {challenger.metrics.pr_auc:.4f} <= champion v1 {champion_pr_auc:.4f} + margin 0.01"
        in challenger.decision.reason
    )
    client = registry_client(settings)
    assert client.get_model_version_by_alias(settings.model_name, "champion").version == "1"
    assert client.get_model_version(settings.model_name, "2").tags["riskloop.gate"] == "reject"


def test_promote_and_rollback_move_the_champion_alias(mlflow_server: MlflowServer, frame: pd.DataFrame) -> None:
    settings = _settings(mlflow_server)
    first = train_and_register(frame, REQUEST, mlflow_settings=settings)
    second = train_and_register(frame, replace(REQUEST, promote=False), mlflow_settings=settings)
    assert (first.version, first.promoted, second.version, second.promoted) == ("1", True, "2", False)
    client = registry_client(settings)

    move = promote(settings, second.version)
    assert (move.champion, move.previous) == ("2", "1")
    assert load_champion(settings).version == "2"
    assert client.get_model_version_by_alias(settings.model_name, PREVIOUS_CHAMPION_ALIAS).version == "1"
    assert client.get_model_version(settings.model_name, "2").tags[PREVIOUS_CHAMPION_TAG] == "1"

    back = rollback(settings)
    assert (back.champion, back.previous) == ("1", "2")
    assert client.get_model_version_by_alias(settings.model_name, "champion").version == "1"
    assert PREVIOUS_CHAMPION_ALIAS not in client.get_registered_model(settings.model_name).aliases
    with pytest.raises(NoPreviousChampion, match="records no previous champion"):
        rollback(settings)


def test_promotion_asks_the_fraud_api_to_reload_and_a_failed_reload_is_reported(
    mlflow_server: MlflowServer,
    frame: pd.DataFrame,
    reload_endpoint: ReloadEndpoint,
) -> None:
    settings = _settings(mlflow_server)
    fraud_api = FraudApiSettings(url=reload_endpoint.url, admin_token="s3cret")
    promoted = train_and_register(frame, REQUEST, mlflow_settings=settings, fraud_api=fraud_api)
    assert promoted.reload is not None and promoted.reload.ok
    assert reload_endpoint.calls == [("/admin/reload", "Bearer s3cret")]

    reload_endpoint.status = 503
    lenient = replace(REQUEST, gates=GatePolicy(margin=-1.0))
    again = train_and_register(frame, lenient, mlflow_settings=settings, fraud_api=fraud_api)
    assert again.promoted
    assert again.reload is not None and not again.reload.ok and "HTTP 503" in again.reload.detail
    assert again.reload.detail.endswith(": reload failed: no champion")  # the service's own reason
    # The promotion stands although the service did not reload.
    assert load_champion(settings).version == again.version == "2"

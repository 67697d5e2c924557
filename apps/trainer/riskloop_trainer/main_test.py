"""The trainer CLI end to end on a local SQLite tracking store, with a real HTTP endpoint standing in
for the fraud API's reload route."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskloop_trainer.__main__ import main


@pytest.fixture
def reload_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    calls: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            calls.append(self.headers.get("Authorization"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RISKLOOP_FRAUD_API__URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("RISKLOOP_FRAUD_API__ADMIN_TOKEN", "cli-token")
    try:
        yield calls
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("RISKLOOP_MLFLOW__TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("RISKLOOP_MLFLOW__ARTIFACT_LOCATION", str(tmp_path / "artifacts"))
    return tmp_path


def _labelled_csv(path: Path, rows: int = 1500, seed: int = 0) -> Path:
    """Numeric and categorical columns and a label that depends on both."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, rows)
    velocity = rng.poisson(1.0, rows)
    channel = rng.choice(["web", "app", "pos"], rows)
    logit = -3 + 0.9 * velocity + 0.4 * np.log(amount) - 1.0 * (channel == "pos") + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "amount": amount,
            "velocity": velocity,
            "channel": channel,
            "y": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_train_writes_the_holdout_metrics_json_and_promotes(
    tracking: Path, reload_calls: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _labelled_csv(tracking / "data.csv"), tracking / "out" / "metrics.json"
    status = main(
        [
            "train",
            "--data",
            str(data),
            "--label",
            "y",
            "--metrics-out",
            str(out),
            "--trials",
            "3",
            "--drop-columns",
            "order_id",
        ]
    )
    assert status == 0
    metrics = json.loads(out.read_text())
    assert set(metrics) == {"roc_auc", "pr_auc", "recall_at_fpr", "brier", "threshold"}
    assert 0.6 < metrics["roc_auc"] <= 1.0
    assert 0.0 < metrics["pr_auc"] <= 1.0 and 0.0 <= metrics["recall_at_fpr"] <= 1.0
    assert 0.0 < metrics["brier"] < 0.25 and 0.0 < metrics["threshold"] < 1.0
    printed = capsys.readouterr().out
    assert "pr_auc" in printed and "gates: PASS" in printed and "version 1 is now 'champion'" in printed
    assert reload_calls == ["Bearer cli-token"]

    assert main(["champion"]) == 0
    assert "version 1" in capsys.readouterr().out


def test_train_without_options_beyond_data_and_label_writes_metrics(
    tracking: Path, reload_calls: list[str | None]
) -> None:
    data, out = _labelled_csv(tracking / "data.csv", seed=1), tracking / "metrics.json"
    assert main(["train", "--data", str(data), "--label", "y", "--metrics-out", str(out), "--trials", "3"]) == 0
    assert set(json.loads(out.read_text())) == {"roc_auc", "pr_auc", "recall_at_fpr", "brier", "threshold"}


def test_rollback_moves_the_champion_back_and_reports_when_there_is_nothing_to_roll_back(
    tracking: Path, reload_calls: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    data = _labelled_csv(tracking / "data.csv")
    base = ["train", "--data", str(data), "--label", "y", "--trials", "2"]
    assert main(base) == 0
    # A negative margin lets an equal model through, so the alias moves to version 2.
    assert main([*base, "--margin", "-1"]) == 0
    capsys.readouterr()
    assert main(["rollback"]) == 0
    assert "version 1 again (was 2)" in capsys.readouterr().out
    assert main(["rollback"]) == 1
    assert "records no previous champion" in capsys.readouterr().err
    assert len(reload_calls) == 3  # two promotions and one rollback


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["--data", str(d / "missing.csv"), "--label", "y"], "data file not found"),
        (lambda d: ["--data", str(d / "data.csv"), "--label", "nope"], "label column 'nope' not found"),
        (lambda d: ["--data", str(d / "three.csv"), "--label", "y"], "label column 'y' is not binary"),
        (lambda d: ["--data", str(d / "empty.csv"), "--label", "y"], "the data has no rows"),
    ],
)
def test_bad_input_exits_2_with_one_clear_message(
    tracking: Path,
    capsys: pytest.CaptureFixture[str],
    make_args: Callable[[Path], list[str]],
    message: str,
) -> None:
    _labelled_csv(tracking / "data.csv", rows=50)
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 2]}).to_csv(tracking / "three.csv", index=False)
    (tracking / "empty.csv").write_text("x,y\n")
    status = main(["train", *make_args(tracking), "--trials", "1"])
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and err.count("error:") == 1


def test_a_missing_required_option_exits_2(tracking: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", "x.csv"]) == 2
    assert "--data needs --label" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["train", "--label", "y"])
    assert exited.value.code == 2
    assert "--data" in capsys.readouterr().err


@pytest.fixture
def feature_store_env(tracking: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local settings whose buckets, offline tables, registry and online store live in this test's folder."""
    monkeypatch.setenv("RISKLOOP_S3__LOCAL_ROOT", str(tracking / "objects"))
    monkeypatch.setenv("RISKLOOP_FEAST__REGISTRY", str(tracking / "feast" / "registry.db"))
    monkeypatch.setenv("RISKLOOP_FEAST__SQLITE_PATH", str(tracking / "feast" / "online.db"))
    monkeypatch.setenv("RISKLOOP_FEAST__OFFLINE_ROOT", str(tracking / "offline"))
    monkeypatch.setenv("RISKLOOP_FEAST__REPO_PATH", str(tracking / "feast"))
    (tracking / "feast").mkdir()
    return tracking


def test_train_from_the_feature_store_registers_a_model_of_the_fraud_features(
    feature_store_env: Path, reload_calls: list[str | None], capsys: pytest.CaptureFixture[str]
) -> None:
    from riskloop_config import load_settings
    from riskloop_features import feature_definitions, feature_store, run_feature_engineering
    from riskloop_simulation import WorldConfig, simulate, write_parquet

    settings = load_settings()
    world = WorldConfig(seed=3, n_users=800, n_events=40, days=24)
    raw_root = settings.s3.bucket_uri(settings.s3.raw_events_bucket)
    write_parquet(simulate(world), raw_root)
    store = feature_store(settings.feast)
    store.apply(feature_definitions(settings.feast.offline_root).objects())
    run_feature_engineering(raw_root=raw_root, offline_root=settings.feast.offline_root, as_of=world.end, store=store)

    out = feature_store_env / "metrics.json"
    status = main(
        [
            "train", "--from-feature-store", "--cutoff", world.end.isoformat(), "--label-maturity-days", "7",
            "--trials", "2", "--min-roc-auc", "0.0", "--metrics-out", str(out),
        ]
    )
    assert status == 0, capsys.readouterr().err
    metrics = json.loads(out.read_text())
    assert set(metrics) == {"roc_auc", "pr_auc", "recall_at_fpr", "brier", "threshold"}
    assert 0.0 <= metrics["roc_auc"] <= 1.0  # a tiny world: quality is the benchmark's business, not this test's
    # The champion is a model of the feature store's fraud features, in the feature service's order.
    from riskloop_features import FRAUD_MODEL_FEATURES
    from riskloop_training import load_champion

    names = load_champion(settings.mlflow).metadata.feature_names
    assert reload_calls == ["Bearer cli-token"]  # the promotion told the fraud service to reload
    assert list(names) == [reference.partition(":")[2] for reference in FRAUD_MODEL_FEATURES]


def test_train_from_an_empty_feature_store_exits_2_naming_what_is_missing(
    feature_store_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--from-feature-store", "--trials", "1"]) == 2
    err = capsys.readouterr().err
    assert "no training set in the feature store" in err and "Traceback" not in err

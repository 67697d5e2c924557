from __future__ import annotations

import pytest

from riskloop_config.settings import MlflowSettings
from riskloop_scoring.champion import ModelLoadFailed, NoChampion, load_snapshot
from riskloop_scoring.testing_models import (
    NoOnlineStore,
    break_artifacts,
    local_mlflow,
    register_model,
    train_booster,
)
from riskloop_testing.services import free_port


@pytest.fixture(scope="module")
def mlflow_settings(tmp_path_factory: pytest.TempPathFactory) -> MlflowSettings:
    return local_mlflow(tmp_path_factory.mktemp("mlflow"))


def test_no_champion_then_the_champion_then_a_broken_one(mlflow_settings: MlflowSettings) -> None:
    with pytest.raises(NoChampion):
        load_snapshot(mlflow_settings, NoOnlineStore())

    booster, metadata = train_booster()
    first = register_model(mlflow_settings, booster, metadata)
    snapshot = load_snapshot(mlflow_settings, NoOnlineStore())
    assert snapshot.version == first.version
    assert snapshot.model.metadata == metadata
    assert snapshot.registered_at is not None

    broken = register_model(mlflow_settings, booster, metadata)
    break_artifacts(broken)
    with pytest.raises(ModelLoadFailed, match=f"version {broken.version}"):
        load_snapshot(mlflow_settings, NoOnlineStore())
    # An explicit version still loads: the registry itself is fine.
    assert load_snapshot(mlflow_settings, NoOnlineStore(), first.version).version == first.version


def test_an_unreachable_registry_is_a_load_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow's default retries would take minutes; the service bounds them the same way.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings = MlflowSettings(tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises((ModelLoadFailed, NoChampion)):
        load_snapshot(settings, NoOnlineStore())

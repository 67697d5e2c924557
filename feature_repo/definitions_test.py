"""The Feast repo registers exactly the library's objects, as `feast apply` would."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from feast import Entity, FeatureService, FeatureView

from riskloop_config.settings import FeastSettings
from riskloop_features import feature_store

REPO = Path(__file__).resolve().parent


def test_feature_repo_definitions_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKLOOP_ENVIRONMENT", "local")
    monkeypatch.setenv("RISKLOOP_FEAST__OFFLINE_ROOT", str(tmp_path / "offline"))
    spec = importlib.util.spec_from_file_location("feature_repo_definitions", REPO / "definitions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    objects = [v for v in vars(module).values() if isinstance(v, (Entity, FeatureView, FeatureService))]
    store = feature_store(
        FeastSettings(
            project="repo_test",
            online_store="sqlite",
            registry=str(tmp_path / "registry.db"),
            sqlite_path=tmp_path / "online.db",
            repo_path=tmp_path,
        )
    )
    store.apply(objects)
    assert len(store.list_feature_views()) == 4 and len(store.list_entities()) == 3
    assert store.get_feature_service("fraud_model_v1").name == "fraud_model_v1"
    assert (REPO / "feature_store.yaml").is_file()
    assert {p.name for p in (REPO / "environments").glob("*.yaml")} == {"compose.yaml", "production.yaml"}

"""Test support: a small synthetic fraud model registered in MLflow in the training contract's format,
and online features written by Feast's own Redis writer. Plain xgboost and mlflow-skinny only (the
'serving' resolve has no scikit-learn)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xgboost as xgb

from riskloop_config.settings import MlflowSettings, RedisSettings
from riskloop_features.names import EVENT_KEY, EVENT_REALTIME_VIEW, USER_BEHAVIOR_VIEW, USER_KEY, USER_REALTIME_VIEW
from riskloop_scoring.online import FeatureRef, OnlineRead
from riskloop_training.model_contract import METADATA_ARTIFACT, MLMODEL_METADATA_KEY, ModelMetadata, registry_client

if TYPE_CHECKING:
    from riskloop_testing.services import MlflowServer, S3Server

# Request fields, bare online names and a `view:feature` name, two of them categorical: every path of
# VectorPlan is exercised.
FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "tickets",
    "payment_method",
    "user_txn_count_1h",
    "user_txn_amount_1h",
    "preferred_category",
    f"{EVENT_REALTIME_VIEW}:current_inventory",
)
CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "payment_method": ("apple_pay", "card", "paypal"),
    "preferred_category": ("comedy", "concert", "sports"),
}


def synthetic_frame(rows: int = 600, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Raw rows (categoricals as text, some missing) and labels where large counts and amounts are fraud."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 60.0, rows),
            "tickets": rng.integers(1, 9, rows).astype("float64"),
            "payment_method": rng.choice(CATEGORIES["payment_method"], rows),
            "user_txn_count_1h": rng.poisson(2.0, rows).astype("float64"),
            "user_txn_amount_1h": rng.gamma(2.0, 100.0, rows),
            "preferred_category": rng.choice(CATEGORIES["preferred_category"], rows),
            f"{EVENT_REALTIME_VIEW}:current_inventory": rng.integers(0, 5000, rows).astype("float64"),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "user_txn_count_1h"] = np.nan
    paypal = (frame["payment_method"] == "paypal").astype("float64")
    logit = 0.8 * frame["user_txn_count_1h"].fillna(2) + 0.01 * frame["amount"] - 4 + paypal
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    return frame, labels


def train_booster(
    *, rounds: int = 20, seed: int = 7, objective: str = "binary:logistic"
) -> tuple[xgb.Booster, ModelMetadata]:
    from riskloop_training.model_contract import encode_features

    frame, labels = synthetic_frame(seed=seed)
    encoded = encode_features(frame, feature_names=FEATURE_NAMES, categories=CATEGORIES)
    matrix = xgb.DMatrix(encoded, label=labels, enable_categorical=True)
    booster = xgb.train(
        {"objective": objective, "max_depth": 3, "eta": 0.3, "seed": seed, "max_cat_to_onehot": 1},
        matrix,
        num_boost_round=rounds,
    )
    metadata = ModelMetadata(
        feature_names=FEATURE_NAMES,
        categories=CATEGORIES,
        threshold=0.5,
        target_fpr=None,
        label="is_fraud",
        data_fingerprint=f"synthetic-{seed}",
        metrics={},
    )
    return booster, metadata


class NoOnlineStore:
    """A feature reader whose store holds nothing (every feature missing, not degraded): for tests about
    models and reloads, where online values do not matter."""

    def check(self, refs: object) -> None:
        pass

    def read(self, entities: Sequence[Mapping[str, str]], refs: Sequence[FeatureRef]) -> OnlineRead:
        return OnlineRead(tuple(dict.fromkeys(refs) for _ in entities), degraded=False)


def local_mlflow(folder: Path) -> MlflowSettings:
    """A real MLflow tracking store and registry in `folder`: SQLite (file store without alembic) + file artifacts."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    try:
        import alembic  # noqa: F401  # pants: no-infer-dep (present in the training resolve only)

        tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    except ImportError:
        # The 'serving' resolve has mlflow-skinny, whose SQL stores lack alembic: use the file store, which
        # MLflow 3 only opens when told to (in this process and, inherited, in the served app's).
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        tracking_uri = (folder / "mlruns").as_uri()
    settings = MlflowSettings(tracking_uri=tracking_uri, artifact_location=(folder / "artifacts").as_uri())
    # Create the schema now: server workers opening a fresh SQLite store at once race its migrations.
    registry_client(settings).search_registered_models()
    return settings


def break_artifacts(version: RegisteredVersion, server: MlflowServer | None = None, s3: S3Server | None = None) -> None:
    """Delete a registered version's model files: the registry still points at them, loading fails. Those of
    a tracking `server` (`mlflow-artifacts:` URIs) are objects in its bucket on `s3`."""
    import shutil
    from urllib.parse import urlparse

    location = urlparse(version.artifact_uri)
    if location.scheme == "mlflow-artifacts":
        if server is None or s3 is None:
            raise ValueError(f"{version.artifact_uri} lives behind a tracking server: pass it and its S3 server")
        client, prefix = s3.client(), location.path.lstrip("/")
        listed = client.list_objects_v2(Bucket=server.artifacts_bucket, Prefix=prefix).get("Contents", [])
        assert listed, f"no objects under s3://{server.artifacts_bucket}/{prefix}"
        for item in listed:
            client.delete_object(Bucket=server.artifacts_bucket, Key=item["Key"])
        return
    shutil.rmtree(location.path if location.scheme == "file" else version.artifact_uri)


@dataclass(frozen=True)
class RegisteredVersion:
    version: str
    run_id: str
    artifact_uri: str


def register_model(
    settings: MlflowSettings, booster: xgb.Booster, metadata: ModelMetadata, *, champion: bool = True
) -> RegisteredVersion:
    """Log like libs/training does (model + MLmodel metadata + the JSON artifact), register, move the alias."""
    import mlflow
    import mlflow.xgboost

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri or settings.tracking_uri)
    client = registry_client(settings)
    experiment = client.get_experiment_by_name(settings.experiment_name)
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment(settings.experiment_name, artifact_location=settings.artifact_location)
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_dict(metadata.to_dict(), METADATA_ARTIFACT)
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            metadata={MLMODEL_METADATA_KEY: metadata.to_dict()},
            pip_requirements=[f"xgboost=={xgb.__version__}"],
        )
    version = mlflow.register_model(info.model_uri, settings.model_name)
    if champion:
        client.set_registered_model_alias(settings.model_name, settings.champion_alias, version.version)
    logged = client.get_logged_model(info.model_id)
    return RegisteredVersion(str(version.version), run.info.run_id, logged.artifact_location)


def _feast_value_type(value: Any):  # type: ignore[no-untyped-def]
    from feast.types import Float64, Int64, String

    if isinstance(value, str):
        return String
    if isinstance(value, int) and not isinstance(value, bool):
        return Int64
    return Float64


def write_online_features(
    redis: RedisSettings,
    *,
    project: str,
    view: str,
    join_key: str,
    rows: Mapping[str, Mapping[str, Any]],
    entity_key_serialization_version: int = 3,
) -> None:
    """Write `{entity id: {feature: value}}` for one view with Feast's own RedisOnlineStore writer."""
    from feast import Entity, FeatureView, Field
    from feast.infra.online_stores.redis import RedisOnlineStore, RedisOnlineStoreConfig
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
    from feast.protos.feast.types.Value_pb2 import Value as ValueProto
    from feast.repo_config import RepoConfig
    from feast.type_map import python_values_to_proto_values
    from feast.value_type import ValueType

    example = next(iter(rows.values()))
    entity = Entity(name=join_key.removesuffix("_id"), join_keys=[join_key], value_type=ValueType.STRING)
    feature_view = FeatureView(
        name=view,
        entities=[entity],
        schema=[Field(name=join_key, dtype=_feast_value_type("s"))]
        + [Field(name=name, dtype=_feast_value_type(value)) for name, value in example.items()],
    )
    config = RepoConfig(
        project=project,
        provider="local",
        registry="/dev/null",
        online_store=RedisOnlineStoreConfig(connection_string=redis.feast_connection_string),
        entity_key_serialization_version=entity_key_serialization_version,
    )
    now = datetime.now(UTC)
    data = []
    for entity_id, features in rows.items():
        key = EntityKeyProto(join_keys=[join_key], entity_values=[ValueProto(string_val=entity_id)])
        values = {
            name: python_values_to_proto_values([value], _value_type(value))[0] for name, value in features.items()
        }
        data.append((key, values, now, None))
    RedisOnlineStore().online_write_batch(config, feature_view, data, progress=None)


def _value_type(value: Any):  # type: ignore[no-untyped-def]
    from feast.value_type import ValueType

    if isinstance(value, str):
        return ValueType.STRING
    if isinstance(value, int) and not isinstance(value, bool):
        return ValueType.INT64
    return ValueType.DOUBLE


def write_default_features(redis: RedisSettings, *, project: str) -> None:
    """Online features for users u1, u2 and event e1 (u3 and e2 have none)."""
    write_online_features(
        redis,
        project=project,
        view=USER_REALTIME_VIEW,
        join_key=USER_KEY,
        rows={
            "u1": {"user_txn_count_1h": 9, "user_txn_amount_1h": 1800.0},
            "u2": {"user_txn_count_1h": 0, "user_txn_amount_1h": 0.0},
        },
    )
    write_online_features(
        redis,
        project=project,
        view=USER_BEHAVIOR_VIEW,
        join_key=USER_KEY,
        rows={"u1": {"preferred_category": "concert"}, "u2": {"preferred_category": "sports"}},
    )
    write_online_features(
        redis, project=project, view=EVENT_REALTIME_VIEW, join_key=EVENT_KEY, rows={"e1": {"current_inventory": 120}}
    )


class PrivateRedis:
    """A redis-server of this test alone on a free port, which a test may stop and start again (same port)
    to take the online store away and bring it back."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._process: Any = None

    @property
    def settings(self) -> RedisSettings:
        return RedisSettings(host="127.0.0.1", port=self.port, db=0)

    def start(self) -> None:
        import shutil
        import subprocess

        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The scorer: an immutable (model, plan, version) snapshot, swapped atomically, scoring batches.

A request takes the snapshot once and uses only it, so a reload in the middle of a batch can never mix
two models' feature orders or thresholds. Swapping is one attribute assignment (atomic in CPython).
"""

from __future__ import annotations

import ctypes
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import xgboost as xgb
from xgboost.core import _LIB, _check_call  # the loaded library and its error check (see _contributions)

from riskloop_features.names import entity_row
from riskloop_scoring.online import FeatureRef, OnlineRead
from riskloop_scoring.reasons import Reason, top_reasons
from riskloop_scoring.vectors import VectorPlan
from riskloop_training.model_contract import LoadedModel


class NoModelLoaded(RuntimeError):
    """Scoring was asked for before any model could be loaded."""


class ModelIncompatible(ValueError):
    """A model's features cannot be built by this service (unknown feature, feature view or type)."""


class FeatureReader(Protocol):
    def check(self, refs: Sequence[FeatureRef]) -> None: ...

    def read(self, entities: Sequence[Mapping[str, str]], refs: Sequence[FeatureRef]) -> OnlineRead: ...


@dataclass(frozen=True)
class Snapshot:
    model: LoadedModel
    plan: VectorPlan
    feature_types: tuple[str, ...]
    registered_at: datetime | None
    loaded_at: float  # time.time()

    @property
    def version(self) -> str:
        return self.model.version


@dataclass(frozen=True)
class Score:
    transaction_id: str
    fraud_score: float
    is_fraud: bool
    model_version: str
    reasons: tuple[Reason, ...]
    missing_features: tuple[str, ...]
    degraded: bool


def prepare(model: LoadedModel, reader: FeatureReader, *, registered_at: datetime | None = None) -> Snapshot:
    """Check a freshly loaded model can be served and build its plan; raises `ModelIncompatible`."""
    try:
        plan = VectorPlan.for_model(model.metadata.feature_names, model.metadata.categories)
        reader.check(plan.online_refs)
    except (ValueError, KeyError) as exc:
        raise ModelIncompatible(f"version {model.version}: {exc}") from None
    booster_types = model.booster.feature_types
    types = plan.feature_types
    if booster_types is not None:
        if [t == "c" for t in booster_types] != [t == "c" for t in plan.feature_types]:
            raise ModelIncompatible(
                f"version {model.version}: booster feature types {booster_types} do not match the metadata's "
                f"categories {sorted(model.metadata.categories)}"
            )
        types = tuple(booster_types)  # exactly what the booster was trained with ('float', 'int', 'c' ...)
    booster_names = model.booster.feature_names
    if booster_names is not None and tuple(booster_names) != tuple(plan.feature_names):
        # Requests pass unnamed columns (`_contributions`): the order is checked once, here.
        raise ModelIncompatible(
            f"version {model.version}: booster features {booster_names} are not the metadata's "
            f"{list(plan.feature_names)} in that order"
        )
    # One thread per prediction: a request is a few rows, and OpenMP threads spinning up for it cost more
    # than the prediction (ms instead of 0.1 ms); the server's concurrency comes from its requests.
    model.booster.set_param({"nthread": 1})
    snapshot = Snapshot(model, plan, types, registered_at, time.time())
    objective = json.loads(model.booster.save_config())["learner"]["objective"]["name"]
    if objective != "binary:logistic":
        raise ModelIncompatible(
            f"version {model.version}: objective {objective}; fraud scores are binary:logistic probabilities"
        )
    # Throwaway rows (all missing, all zero) scored as requests score them and through XGBoost's public
    # `predict`: a model that cannot score, or whose contributions do not add up to its prediction (scores
    # are taken from them), is refused here. They differ only by float32 rounding: < 1e-6 on 20,000 rows of
    # 100- and 300-tree models.
    probe = np.full((2, len(plan.sources)), np.nan, dtype=np.float32)
    probe[1] = 0
    try:
        expected = model.booster.predict(_dmatrix(snapshot, probe))
        contributions = _contributions(model.booster, probe)
    except xgb.core.XGBoostError as exc:
        raise ModelIncompatible(f"version {model.version} cannot score: {exc}") from None
    if not np.allclose(_probabilities(contributions), expected, rtol=0, atol=1e-5):
        raise ModelIncompatible(f"version {model.version}: its SHAP contributions do not add up to its predictions")
    return snapshot


def _dmatrix(snapshot: Snapshot, matrix: np.ndarray) -> xgb.DMatrix:
    has_categories = "c" in snapshot.feature_types
    return xgb.DMatrix(
        matrix,
        feature_names=list(snapshot.plan.feature_names),
        feature_types=list(snapshot.feature_types),
        enable_categorical=has_categories,
        missing=np.nan,
        nthread=1,  # a request is small; threads would only fight the server's other requests
    )


def _probabilities(contributions: np.ndarray) -> np.ndarray:
    """binary:logistic scores from tree-SHAP rows: each row's contributions and bias add up to the margin.
    One native call then gives both reasons and scores; a second `predict` cost ~90 µs per request, ~250 µs
    in a server whose caches went cold between requests."""
    margins = contributions.sum(axis=1, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-margins))


_DENSE_CONFIG = b'{"missing": NaN, "nthread": 1}'
_CONTRIBUTIONS_CONFIG = json.dumps(
    {"type": 2, "training": False, "iteration_begin": 0, "iteration_end": 0, "strict_shape": False}
).encode()


def _contributions(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """Tree-SHAP contributions of float32 rows (NaN is missing), a row each with the bias last: what
    `booster.predict(xgb.DMatrix(matrix), pred_contribs=True)` returns, through XGBoost's C API.

    XGBoost's Python wrappers around those two C calls cost ~80 µs per request, and ~300 µs more in a
    server whose caches went cold between requests (the C calls themselves ~220 µs). The rows carry no
    names or types: predictions are the same (a tree's split type says which splits are categorical), and
    the column order was checked against the booster when the model was loaded."""
    rows = np.ascontiguousarray(matrix, dtype=np.float32)
    interface = {"data": [rows.ctypes.data, True], "shape": list(rows.shape), "typestr": "<f4", "version": 3}
    dmatrix = ctypes.c_void_p()
    _check_call(_LIB.XGDMatrixCreateFromDense(json.dumps(interface).encode(), _DENSE_CONFIG, ctypes.byref(dmatrix)))
    try:
        shape = ctypes.POINTER(ctypes.c_uint64)()
        dimensions = ctypes.c_uint64()
        values = ctypes.POINTER(ctypes.c_float)()
        _check_call(
            _LIB.XGBoosterPredictFromDMatrix(
                booster.handle,
                dmatrix,
                _CONTRIBUTIONS_CONFIG,
                ctypes.byref(shape),
                ctypes.byref(dimensions),
                ctypes.byref(values),
            )
        )
        # The values live in a per-thread buffer of XGBoost's until that thread's next call: copied out.
        return np.ctypeslib.as_array(values, shape=tuple(shape[i] for i in range(dimensions.value))).copy()
    finally:
        _check_call(_LIB.XGDMatrixFree(dmatrix))


class Scorer:
    """Scores batches with whichever snapshot is current; `swap` installs a new one atomically."""

    def __init__(self, reader: FeatureReader, *, top_k: int = 3) -> None:
        self._reader = reader
        self._top_k = top_k
        self._snapshot: Snapshot | None = None
        # Serialises swaps only; scoring never takes it.
        self._swap_lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def swap(self, snapshot: Snapshot) -> Snapshot | None:
        """Install `snapshot`; returns the one it replaced."""
        with self._swap_lock:
            previous, self._snapshot = self._snapshot, snapshot
        return previous

    def score(self, transactions: Sequence[Mapping[str, Any]]) -> list[Score]:
        """Scores for a batch, in order. Raises `NoModelLoaded`; never fails for Redis being down."""
        snapshot = self._snapshot
        if snapshot is None:
            raise NoModelLoaded("no fraud model is loaded yet")
        if not transactions:
            return []
        plan, booster = snapshot.plan, snapshot.model.booster
        entities = [
            entity_row(user_id=t["user_id"], event_id=t["event_id"], promoter_id=t["promoter_id"])
            for t in transactions
        ]
        online = self._reader.read(entities, plan.online_refs)
        matrix, missing, raw = plan.build(transactions, online.rows)
        contributions = _contributions(booster, matrix)
        scores = _probabilities(contributions)
        reasons = top_reasons(contributions, plan.feature_names, raw, k=self._top_k)
        threshold = snapshot.model.metadata.threshold
        return [
            Score(
                transaction_id=str(txn["transaction_id"]),
                fraud_score=float(score),
                is_fraud=bool(score >= threshold),
                model_version=snapshot.version,
                reasons=tuple(row_reasons),
                missing_features=tuple(row_missing),
                degraded=online.degraded,
            )
            for txn, score, row_reasons, row_missing in zip(transactions, scores, reasons, missing, strict=True)
        ]

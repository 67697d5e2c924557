from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from riskloop_scoring.online import FeatureRef, OnlineRead
from riskloop_scoring.scorer import ModelIncompatible, NoModelLoaded, Scorer, _contributions, prepare
from riskloop_scoring.testing_models import CATEGORIES, FEATURE_NAMES, synthetic_frame, train_booster
from riskloop_training.model_contract import LoadedModel, ModelMetadata, encode_features


class FrameReader:
    """Online values from a table: each entity row's `user_id` is a row number."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def check(self, refs: Sequence[FeatureRef]) -> None:
        pass

    def read(self, entities: Sequence[Mapping[str, str]], refs: Sequence[FeatureRef]) -> OnlineRead:
        rows = []
        for entity in entities:
            record = self.frame.iloc[int(entity["user_id"])]
            row = {}
            for ref in refs:
                name = ref.ref if ref.ref in record.index else ref.name
                value = record[name]
                row[ref] = None if pd.isna(value) else value
            rows.append(row)
        return OnlineRead(tuple(rows), degraded=False)


def _transactions(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {
            "transaction_id": f"t{i}",
            "user_id": str(i),
            "event_id": "e",
            "promoter_id": "p",
            "amount": float(row["amount"]),
            "tickets": int(row["tickets"]),
            "payment_method": row["payment_method"],
        }
        for i, row in frame.iterrows()
    ]


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    booster, metadata = train_booster()
    return LoadedModel(booster, metadata, "1")


def test_scores_match_the_training_contracts_pandas_path(model: LoadedModel) -> None:
    frame, _ = synthetic_frame(rows=200, seed=11)
    frame.loc[::7, "preferred_category"] = "opera"  # unseen in training
    frame.loc[::5, "payment_method"] = None
    scorer = Scorer(FrameReader(frame), top_k=3)
    scorer.swap(prepare(model, FrameReader(frame)))
    scores = scorer.score(_transactions(frame))
    expected = model.score(frame)
    np.testing.assert_allclose([s.fraud_score for s in scores], expected, rtol=1e-6)
    assert [s.is_fraud for s in scores] == list(expected >= model.metadata.threshold)
    assert scores[0].missing_features == ("payment_method",)
    assert all(len(s.reasons) == 3 for s in scores)
    assert {r.feature for s in scores for r in s.reasons} <= set(FEATURE_NAMES)


def test_reasons_sum_with_the_bias_to_the_log_odds(model: LoadedModel) -> None:
    frame, _ = synthetic_frame(rows=5, seed=3)
    scorer = Scorer(FrameReader(frame), top_k=len(FEATURE_NAMES))
    scorer.swap(prepare(model, FrameReader(frame)))
    biases = []
    # The margin from XGBoost's own prediction: scores are derived from the contributions, so theirs would
    # agree with the reasons by construction.
    for score, probability in zip(scorer.score(_transactions(frame)), model.score(frame), strict=True):
        assert len(score.reasons) == len(FEATURE_NAMES)
        margin = np.log(probability / (1 - probability))
        biases.append(margin - sum(r.contribution for r in score.reasons))
    # What the features do not explain is the model's constant bias, the same for every row.
    assert max(biases) - min(biases) < 1e-4


def test_contributions_through_the_c_api_are_xgboosts_own(model: LoadedModel) -> None:
    frame, _ = synthetic_frame(rows=300, seed=21)
    frame.loc[::4, "payment_method"] = None
    frame.loc[::6, "preferred_category"] = "opera"  # unseen in training
    encoded = encode_features(frame, feature_names=FEATURE_NAMES, categories=CATEGORIES)
    columns = [
        np.where(column.cat.codes < 0, np.nan, column.cat.codes)
        if isinstance(column.dtype, pd.CategoricalDtype)
        else column.to_numpy(np.float64)
        for _, column in encoded.items()
    ]
    rows = np.column_stack(columns).astype(np.float32)  # category codes, as requests send them
    public = model.booster.predict(xgb.DMatrix(rows, missing=np.nan), pred_contribs=True, validate_features=False)
    np.testing.assert_array_equal(_contributions(model.booster, rows), public)
    np.testing.assert_array_equal(_contributions(model.booster, rows[:1]), public[:1])


def test_no_model_is_an_error_of_its_own() -> None:
    with pytest.raises(NoModelLoaded):
        Scorer(FrameReader(pd.DataFrame())).score([{"transaction_id": "t"}])


def test_a_model_naming_unknown_features_is_refused(model: LoadedModel) -> None:
    metadata = ModelMetadata(("mystery",), {}, 0.5, None, "is_fraud", "x")
    with pytest.raises(ModelIncompatible, match="mystery"):
        prepare(LoadedModel(model.booster, metadata, "9"), FrameReader(pd.DataFrame()))


def test_a_model_whose_metadata_reorders_the_boosters_features_is_refused(model: LoadedModel) -> None:
    # Requests build unnamed matrices in the metadata's order, so a different booster order must stop the load.
    first, second, *rest = model.metadata.feature_names  # two numeric features: the type check cannot tell
    names = (second, first, *rest)
    metadata = ModelMetadata(names, model.metadata.categories, 0.5, None, "is_fraud", "x")
    frame, _ = synthetic_frame(rows=5, seed=3)
    with pytest.raises(ModelIncompatible, match="in that order"):
        prepare(LoadedModel(model.booster, metadata, "9"), FrameReader(frame))


def test_a_model_whose_scores_are_not_probabilities_is_refused() -> None:
    booster, metadata = train_booster(rounds=3, objective="binary:logitraw")
    with pytest.raises(ModelIncompatible, match="objective binary:logitraw"):
        prepare(LoadedModel(booster, metadata, "raw"), FrameReader(synthetic_frame(rows=10)[0]))


def test_swaps_are_atomic_for_concurrent_batches(model: LoadedModel) -> None:
    frame, _ = synthetic_frame(rows=20, seed=5)
    reader = FrameReader(frame)
    other_booster, other_metadata = train_booster(rounds=5, seed=99)
    snapshots = [prepare(model, reader), prepare(LoadedModel(other_booster, other_metadata, "2"), reader)]
    expected = {
        "1": model.score(frame),
        "2": LoadedModel(other_booster, other_metadata, "2").score(frame),
    }
    scorer = Scorer(reader)
    scorer.swap(snapshots[0])
    txns = _transactions(frame)
    problems: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            scores = scorer.score(txns)
            versions = {s.model_version for s in scores}
            if len(versions) != 1:
                problems.append(f"mixed versions in one batch: {versions}")
                return
            got = np.array([s.fraud_score for s in scores])
            if not np.allclose(got, expected[versions.pop()], rtol=1e-6):
                problems.append("scores do not belong to the version reported")
                return

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(200):
        scorer.swap(snapshots[i % 2])
    stop.set()
    for thread in threads:
        thread.join()
    assert problems == []

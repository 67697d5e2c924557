from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskloop_training.dataset import InvalidTrainingData, prepare_table, read_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "amount": [1.0, 2.5, None, 4.0],
            "country": ["FR", "DE", None, "FR"],
            "y": [0, 1, 0, 1],
        }
    )


def test_features_are_every_column_but_label_time_and_dropped_ids_in_order() -> None:
    table = prepare_table(_frame(), label="y", drop_columns=["id"])
    assert table.feature_names == ("amount", "country")
    assert table.categories == {"country": ("DE", "FR")}
    encoded = table.features()
    assert list(encoded.columns) == ["amount", "country"]
    assert list(encoded["country"].cat.categories) == ["DE", "FR"]
    assert encoded["country"].isna().tolist() == [False, False, True, False]


def test_fingerprint_is_stable_and_changes_with_the_data() -> None:
    first = prepare_table(_frame(), label="y").fingerprint
    assert first == prepare_table(_frame(), label="y").fingerprint
    changed = _frame()
    changed.loc[0, "amount"] = 1.5
    assert prepare_table(changed, label="y").fingerprint != first
    assert len(first) == 64


@pytest.mark.parametrize(
    ("frame", "label", "message"),
    [
        (pd.DataFrame(columns=["x", "y"]), "y", "no rows"),
        (pd.DataFrame({"x": [1.0], "y": [1]}), "label", "label column 'label' not found"),
        (pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 2]}), "y", "not binary"),
        (pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}), "y", "not binary"),
        (pd.DataFrame({"x": [1.0, 2.0], "y": [1, 1]}), "y", "single class"),
        (pd.DataFrame({"x": [1.0, 2.0], "y": [1, None]}), "y", "missing values"),
        (pd.DataFrame({"y": [0, 1]}), "y", "no feature columns"),
    ],
)
def test_bad_tables_are_refused_with_one_clear_message(frame: pd.DataFrame, label: str, message: str) -> None:
    with pytest.raises(InvalidTrainingData, match=message):
        prepare_table(frame, label=label)


def test_true_false_labels_are_accepted_as_binary() -> None:
    table = prepare_table(pd.DataFrame({"x": [1.0, 2.0], "y": ["true", "False"]}), label="y")
    assert table.labels().tolist() == [1, 0]


def test_read_table_reads_csv_and_parquet_and_names_a_missing_file(tmp_path: Path) -> None:
    frame = _frame()
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    assert read_table(tmp_path / "t.csv").shape == (4, 4)
    assert read_table(tmp_path / "t.parquet").shape == (4, 4)
    with pytest.raises(InvalidTrainingData, match="data file not found"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(InvalidTrainingData, match="unsupported data file"):
        read_table(tmp_path / "t.txt")

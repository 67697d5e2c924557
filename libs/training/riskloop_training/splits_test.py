from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskloop_training.dataset import InvalidTrainingData, LabelledTable, prepare_table
from riskloop_training.splits import SplitKind, split_table, stratified_split, time_split


def _table(times: list[int], labels: list[int]) -> LabelledTable:
    frame = pd.DataFrame(
        {
            "t": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(times, unit="s"),
            "x": np.arange(len(times), dtype=float),
            "y": labels,
        }
    )
    return prepare_table(frame, label="y", time_column="t")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 15), st.integers(0, 1)), min_size=10, max_size=200),
    st.sampled_from([0.1, 0.2, 0.3, 0.5]),
)
def test_time_split_never_trains_on_rows_at_or_after_the_validation_period(
    rows: list[tuple[int, int]], fraction: float
) -> None:
    # Few distinct timestamps, so most cutoffs fall inside a group of tied rows.
    times, labels = [t for t, _ in rows], [y for _, y in rows]
    try:
        table = _table(times, labels)
        split = time_split(table, validation_fraction=fraction)
    except InvalidTrainingData:
        return  # single class on a side, or every row tied at the end: refused, not split wrongly
    assert split.train["t"].max() < split.validation["t"].min()
    assert len(split.train) + len(split.validation) == len(rows)
    assert split.training_window is not None
    assert pd.Timestamp(split.training_window.end) == split.train["t"].max()


def test_time_split_puts_every_row_tied_at_the_cutoff_in_validation() -> None:
    # 10 rows; an 80% cut lands on index 8, inside the tie at t=7 that starts at index 6.
    times = [0, 1, 2, 3, 4, 5, 7, 7, 7, 7]
    labels = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    split = time_split(_table(times, labels), validation_fraction=0.2)
    assert sorted(split.validation["x"]) == [6.0, 7.0, 8.0, 9.0]
    assert split.train["t"].max() < split.validation["t"].min()


def test_time_split_refuses_when_all_rows_share_the_latest_timestamp() -> None:
    with pytest.raises(InvalidTrainingData, match="share the latest timestamps"):
        time_split(_table([5] * 10, [0, 1] * 5))


def test_stratified_split_is_seeded_and_keeps_the_positive_rate() -> None:
    labels = [1] * 50 + [0] * 450
    table = prepare_table(pd.DataFrame({"x": np.arange(500.0), "y": labels}), label="y")
    first = stratified_split(table, validation_fraction=0.2, seed=7)
    again = stratified_split(table, validation_fraction=0.2, seed=7)
    other = stratified_split(table, validation_fraction=0.2, seed=8)
    assert list(first.validation["x"]) == list(again.validation["x"])
    assert list(first.validation["x"]) != list(other.validation["x"])
    assert first.validation["y"].sum() == 10 and len(first.validation) == 100
    assert first.kind is SplitKind.STRATIFIED and first.training_window is None


def test_split_defaults_to_time_with_a_time_column_and_stratified_without() -> None:
    table = _table(list(range(20)), [0, 1] * 10)
    assert split_table(table).kind is SplitKind.TIME
    no_time = prepare_table(pd.DataFrame({"x": np.arange(20.0), "y": [0, 1] * 10}), label="y")
    assert split_table(no_time).kind is SplitKind.STRATIFIED
    with pytest.raises(InvalidTrainingData, match="needs a time column"):
        split_table(no_time, kind=SplitKind.TIME)


def test_split_refuses_a_validation_part_without_positives() -> None:
    with pytest.raises(InvalidTrainingData, match="validation part holds a single class"):
        time_split(_table(list(range(20)), [1, 0] * 8 + [0, 0, 0, 0]))

"""Train/validation splits. The time split is the default whenever a time column exists: a model is
validated on the period after the one it learnt from, as it will be used."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from riskloop_training.dataset import InvalidTrainingData, LabelledTable
from riskloop_training.model_contract import TrainingWindow


class SplitKind(str, Enum):
    TIME = "time"
    STRATIFIED = "stratified"


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    kind: SplitKind
    # The training period (time split only): the first and last training timestamps.
    training_window: TrainingWindow | None = None


def time_split(table: LabelledTable, *, validation_fraction: float = 0.2) -> Split:
    """Validate on the most recent `validation_fraction` of rows. Tie-safe: every row sharing the cutoff
    timestamp goes to validation, so no training row is at or after the first validation timestamp."""
    if table.time_column is None:
        raise InvalidTrainingData("a time split needs a time column")
    times = table.frame[table.time_column]
    ordered = times.sort_values(ignore_index=True)
    position = min(len(ordered) - 1, int(np.floor(len(ordered) * (1 - validation_fraction))))
    cutoff = ordered.iloc[position]
    is_validation = (times >= cutoff).to_numpy()
    train, validation = table.frame[~is_validation], table.frame[is_validation]
    if train.empty:
        raise InvalidTrainingData(
            f"cannot split on time: over {1 - validation_fraction:.0%} of rows share the latest timestamps"
        )
    _check_both_classes(table, train, validation)
    start, end = train[table.time_column].min(), train[table.time_column].max()
    return Split(
        train=train,
        validation=validation,
        kind=SplitKind.TIME,
        training_window=TrainingWindow(pd.Timestamp(start).isoformat(), pd.Timestamp(end).isoformat()),
    )


def stratified_split(table: LabelledTable, *, validation_fraction: float = 0.2, seed: int = 0) -> Split:
    """A seeded random split keeping the positive rate equal on both sides."""
    rng = np.random.default_rng(seed)
    labels = table.labels()
    is_validation = np.zeros(len(labels), dtype=bool)
    for value in (0, 1):
        members = np.flatnonzero(labels == value)
        take = int(round(len(members) * validation_fraction))
        is_validation[rng.choice(members, size=take, replace=False)] = True
    train, validation = table.frame[~is_validation], table.frame[is_validation]
    _check_both_classes(table, train, validation)
    return Split(train=train, validation=validation, kind=SplitKind.STRATIFIED)


def split_table(
    table: LabelledTable, *, kind: SplitKind | None = None, validation_fraction: float = 0.2, seed: int = 0
) -> Split:
    """The requested split; by default time when the table has a time column, else stratified."""
    if not 0 < validation_fraction < 1:
        raise InvalidTrainingData(f"validation fraction must be in (0, 1), got {validation_fraction}")
    kind = kind or (SplitKind.TIME if table.time_column else SplitKind.STRATIFIED)
    if kind is SplitKind.TIME:
        return time_split(table, validation_fraction=validation_fraction)
    return stratified_split(table, validation_fraction=validation_fraction, seed=seed)


def _check_both_classes(table: LabelledTable, train: pd.DataFrame, validation: pd.DataFrame) -> None:
    for name, part in (("training", train), ("validation", validation)):
        counts = part[table.label].value_counts()
        if counts.get(0, 0) == 0 or counts.get(1, 0) == 0:
            raise InvalidTrainingData(
                f"the {name} part holds a single class ({len(part)} rows, {int(counts.get(1, 0))} positive); "
                "more data or more positives are needed"
            )

"""A labelled table made ready for training: validated, its feature columns typed and its categories fixed.

Generic over any table: a CSV/Parquet file today, the Feast training-set builder of libs/features later
(both arrive as a pandas DataFrame with feature columns, a label column and optionally a time column)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from riskloop_training.model_contract import encode_features


class InvalidTrainingData(ValueError):
    """The table cannot be trained on; the message says why in one line."""


@dataclass(frozen=True)
class LabelledTable:
    """A validated table: the raw frame (label as 0/1) plus the model's feature contract."""

    frame: pd.DataFrame
    label: str
    time_column: str | None
    feature_names: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    fingerprint: str

    def features(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        return encode_features(
            self.frame if rows is None else rows, feature_names=self.feature_names, categories=self.categories
        )

    def labels(self, rows: pd.DataFrame | None = None) -> np.ndarray:
        return (self.frame if rows is None else rows)[self.label].to_numpy(dtype="int64")


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file (by extension) as a DataFrame."""
    path = Path(path)
    if not path.is_file():
        raise InvalidTrainingData(f"data file not found: {path}")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if suffixes.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidTrainingData(f"cannot read {path}: {exc}") from exc
    raise InvalidTrainingData(f"unsupported data file {path.name}: expected .csv, .csv.gz or .parquet")


def _binary_label(column: pd.Series, name: str) -> pd.Series:
    if column.isna().any():
        raise InvalidTrainingData(f"label column {name!r} has {int(column.isna().sum())} missing values")
    if is_bool_dtype(column):
        return column.astype("int64")
    values = set(pd.unique(column).tolist())
    if values <= {0, 1} or values <= {0.0, 1.0}:
        if values != {0, 1}:
            raise InvalidTrainingData(f"label column {name!r} holds a single class ({sorted(values)}); need 0 and 1")
        return column.astype("int64")
    if values <= {"0", "1"} or values <= {"true", "false", "True", "False"}:
        mapped = column.astype(str).str.lower().map({"0": 0, "1": 1, "true": 1, "false": 0})
        if mapped.nunique() != 2:
            raise InvalidTrainingData(f"label column {name!r} holds a single class; need 0 and 1")
        return mapped.astype("int64")
    shown = ", ".join(repr(v) for v in sorted(values, key=str)[:5])
    raise InvalidTrainingData(f"label column {name!r} is not binary: values include {shown}")


def _is_categorical(column: pd.Series) -> bool:
    return not is_numeric_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and row contents (order-sensitive): the same table gives the same
    fingerprint across processes and machines."""
    digest = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def prepare_table(
    frame: pd.DataFrame,
    *,
    label: str,
    time_column: str | None = None,
    drop_columns: Sequence[str] = (),
) -> LabelledTable:
    """Validate `frame` and fix its feature contract: every column but the label, the time column and
    `drop_columns` (id-like columns the caller names) is a feature, in the frame's order."""
    if frame.empty or len(frame.columns) == 0:
        raise InvalidTrainingData("the data has no rows")
    if label not in frame.columns:
        raise InvalidTrainingData(
            f"label column {label!r} not found; columns are: {', '.join(map(str, frame.columns))}"
        )
    if time_column is not None and time_column not in frame.columns:
        raise InvalidTrainingData(f"time column {time_column!r} not found")
    unknown_drops = [c for c in drop_columns if c not in frame.columns]
    if unknown_drops:
        raise InvalidTrainingData(f"columns to drop not found: {', '.join(unknown_drops)}")
    frame = frame.copy()
    frame[label] = _binary_label(frame[label], label)
    if time_column is not None:
        if not is_datetime64_any_dtype(frame[time_column]):
            try:
                frame[time_column] = pd.to_datetime(frame[time_column], utc=True)
            except (ValueError, TypeError) as exc:
                raise InvalidTrainingData(f"time column {time_column!r} is not parseable as timestamps") from exc
        if frame[time_column].isna().any():
            raise InvalidTrainingData(f"time column {time_column!r} has missing timestamps")
    excluded = {label, *(c for c in [time_column] if c), *drop_columns}
    feature_names = tuple(str(c) for c in frame.columns if c not in excluded)
    if not feature_names:
        raise InvalidTrainingData("no feature columns left after removing the label, time and dropped columns")
    categories: dict[str, tuple[str, ...]] = {}
    for name in feature_names:
        column = frame[name]
        if is_datetime64_any_dtype(column):
            raise InvalidTrainingData(f"feature column {name!r} holds timestamps; drop it or derive numbers from it")
        if _is_categorical(column):
            # Sorted, so the same values give the same codes whatever order rows arrive in.
            categories[name] = tuple(sorted({str(v) for v in column.dropna().unique()}))
    return LabelledTable(
        frame=frame.reset_index(drop=True),
        label=label,
        time_column=time_column,
        feature_names=feature_names,
        categories=categories,
        fingerprint=fingerprint(frame),
    )

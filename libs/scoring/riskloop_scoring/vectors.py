"""Feature vectors in the order the model's metadata names: the one place that order is applied.

Each model feature comes from the request (a TRANSACTION_SCHEMA field, e.g. `amount`) or from the online
store (a Feast feature, named `view:feature`, `view__feature` or, when unambiguous, bare `feature`).
Categoricals are encoded as their index in the stored category list, as training's pandas categories
are; an unseen category is missing. A feature the online store had nothing for is NaN (XGBoost's
missing) and reported by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskloop_features.names import FRAUD_MODEL_FEATURES
from riskloop_features.transactions import TRANSACTION_SCHEMA
from riskloop_scoring.online import FeatureRef

REQUEST_FIELDS = frozenset(TRANSACTION_SCHEMA.names)


class UnresolvableFeature(ValueError):
    """A model feature is neither a request field nor a known online feature."""


@dataclass(frozen=True)
class FeatureSource:
    name: str  # as the model names it
    request_field: str | None
    online: FeatureRef | None
    # category -> code, for categorical features
    codes: Mapping[str, int] | None


def _online_ref(name: str, known: Sequence[str]) -> FeatureRef | None:
    for separator in (":", "__"):
        if separator in name:
            view, _, feature = name.partition(separator)
            return FeatureRef(view, feature)
    matches = [ref for ref in known if ref.split(":", 1)[1] == name]
    if len(matches) == 1:
        view, _, feature = matches[0].partition(":")
        return FeatureRef(view, feature)
    if len(matches) > 1:
        raise UnresolvableFeature(f"feature {name!r} is ambiguous among {matches}; name it view:feature")
    return None


@dataclass(frozen=True)
class VectorPlan:
    """How to build the model's input from a request and its online features."""

    sources: tuple[FeatureSource, ...]
    feature_types: tuple[str, ...]  # XGBoost types: 'q' numeric, 'c' categorical

    @classmethod
    def for_model(
        cls,
        feature_names: Sequence[str],
        categories: Mapping[str, Sequence[str]],
        *,
        known_online: Sequence[str] = FRAUD_MODEL_FEATURES,
    ) -> VectorPlan:
        sources = []
        for name in feature_names:
            codes = {value: i for i, value in enumerate(categories[name])} if name in categories else None
            if name in REQUEST_FIELDS:
                sources.append(FeatureSource(name, name, None, codes))
                continue
            ref = _online_ref(name, known_online)
            if ref is None:
                raise UnresolvableFeature(
                    f"feature {name!r} is neither a transaction field nor a known online feature"
                )
            sources.append(FeatureSource(name, None, ref, codes))
        types = tuple("c" if s.codes is not None else "q" for s in sources)
        return cls(tuple(sources), types)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    @property
    def online_refs(self) -> tuple[FeatureRef, ...]:
        return tuple(dict.fromkeys(s.online for s in self.sources if s.online is not None))

    def build(
        self, transactions: Sequence[Mapping[str, Any]], online_rows: Sequence[Mapping[FeatureRef, Any]]
    ) -> tuple[np.ndarray, list[list[str]], list[list[Any]]]:
        """The (n, features) float32 matrix, per row the missing feature names, and the raw values."""
        matrix = np.full((len(transactions), len(self.sources)), np.nan, dtype=np.float32)
        missing: list[list[str]] = []
        raw_values: list[list[Any]] = []
        for i, (txn, online) in enumerate(zip(transactions, online_rows, strict=True)):
            row_missing: list[str] = []
            row_raw: list[Any] = []
            for j, source in enumerate(self.sources):
                from_request = source.request_field is not None
                key = source.request_field if from_request else source.online
                value = (txn if from_request else online).get(key)  # type: ignore[arg-type]
                row_raw.append(value)
                if value is None:
                    row_missing.append(source.name)
                    continue
                if source.codes is not None:
                    code = source.codes.get(str(value))
                    if code is not None:
                        matrix[i, j] = code
                    continue
                number = _as_number(value)
                if number is None:
                    row_missing.append(source.name)
                else:
                    matrix[i, j] = number
            missing.append(row_missing)
            raw_values.append(row_raw)
        return matrix, missing, raw_values


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None

"""Labelled training rows: transactions labelled from chargebacks known at a cutoff, joined point in time
with the features each transaction would have been scored with.

A transaction is fraud (1) if a chargeback for it was known at the cutoff, legit (0) if it is older than
`maturity` at the cutoff with no chargeback known, and left out otherwise: too young to know. The label
comes from chargebacks only, never from a feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

from riskloop_features import sql
from riskloop_features.names import EVENT_KEY, FRAUD_MODEL_FEATURES, PROMOTER_KEY, TIMESTAMP_FIELD, USER_KEY
from riskloop_features.transactions import TIMESTAMP

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

    from riskloop_config.settings import S3Settings

LABEL = "label"
# Columns of a training frame that identify a purchase but are not features.
ID_COLUMNS = ("transaction_id", USER_KEY, EVENT_KEY, PROMOTER_KEY)
_ROW = "__entity_row"

LABELLED_SCHEMA = pa.schema(
    [
        pa.field(USER_KEY, pa.string(), nullable=False),
        pa.field(EVENT_KEY, pa.string(), nullable=False),
        pa.field(PROMOTER_KEY, pa.string(), nullable=False),
        pa.field(TIMESTAMP_FIELD, TIMESTAMP, nullable=False),
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field(LABEL, pa.int8(), nullable=False),
    ]
)


@dataclass(frozen=True)
class LabelPolicy:
    """When a label is trusted: chargebacks known by `cutoff`; silence only after `maturity`."""

    cutoff: datetime
    maturity: timedelta = timedelta(days=30)


class EmptyTrainingSet(ValueError):
    """No transaction had a mature label at the cutoff."""


def label_transactions(transactions: pa.Table, chargebacks: pa.Table, policy: LabelPolicy) -> pa.Table:
    """Entity rows (LABELLED_SCHEMA) for the transactions with a label at the cutoff, by time then id."""
    with sql.connection() as connection:
        columns = ["transaction_id", TIMESTAMP_FIELD, USER_KEY, EVENT_KEY, PROMOTER_KEY]
        connection.register("tx", transactions.select(columns))
        connection.register("cb", chargebacks.select(["transaction_id", "chargeback_timestamp"]))
        cutoff_us = _micros(policy.cutoff)
        mature_us = _micros(policy.cutoff - policy.maturity)
        result = connection.sql(
            f"""
            WITH known AS (
                SELECT DISTINCT transaction_id FROM cb WHERE epoch_us(chargeback_timestamp) <= {cutoff_us}
            )
            SELECT t.{USER_KEY}, t.{EVENT_KEY}, t.{PROMOTER_KEY}, epoch_us(t.{TIMESTAMP_FIELD}) AS ts_us,
                t.transaction_id,
                CASE WHEN k.transaction_id IS NOT NULL THEN 1 ELSE 0 END AS {LABEL}
            FROM tx t LEFT JOIN known k USING (transaction_id)
            WHERE epoch_us(t.{TIMESTAMP_FIELD}) <= {cutoff_us}
              AND (k.transaction_id IS NOT NULL OR epoch_us(t.{TIMESTAMP_FIELD}) <= {mature_us})
            ORDER BY ts_us, t.transaction_id
            """
        ).to_arrow_table()
    arrays = [
        result.column(USER_KEY),
        result.column(EVENT_KEY),
        result.column(PROMOTER_KEY),
        result.column("ts_us").cast(pa.int64()).cast(TIMESTAMP),
        result.column("transaction_id"),
        result.column(LABEL).cast(pa.int8()),
    ]
    return pa.Table.from_arrays(arrays, schema=LABELLED_SCHEMA)


def _micros(moment: datetime) -> int:
    from riskloop_features.windows import to_micros

    return to_micros(moment)


def historical_features(
    store: FeatureStore, entity_rows: pa.Table, *, features: Sequence[str] = FRAUD_MODEL_FEATURES
) -> pd.DataFrame:
    """Point-in-time features for each entity row, in the given order: the values each view held at the
    row's event_timestamp (rows effective at or before it, within the view's ttl), so a purchase never
    sees itself or later events. A view with no valid row gives nulls; the entity row is always kept."""
    frame = entity_rows.to_pandas()
    frame[_ROW] = range(len(frame))
    result = frame.copy()
    by_view: dict[str, list[str]] = {}
    for reference in features:
        view, _, _name = reference.partition(":")
        by_view.setdefault(view, []).append(reference)
    # One retrieval per view: Feast's Dask store drops an entity row whose only matches lie after it or
    # beyond the ttl, and one view's gap must not erase the row's other features.
    for view, references in by_view.items():
        # Only what the join needs: the Dask store re-hashes the whole entity frame at each step of its plan
        # (dask's deterministic tokens), so each extra column costs time (demo: 31 -> 17 s for 8,455 rows).
        keys = store.get_feature_view(view).join_keys
        entity_df = frame[[_ROW, TIMESTAMP_FIELD, *keys]]
        job = store.get_historical_features(entity_df=entity_df, features=references)
        names = [r.partition(":")[2] for r in references]
        retrieved = job.to_df()[[_ROW, *names]]
        result = result.merge(retrieved, on=_ROW, how="left")
    result = result.sort_values(_ROW).drop(columns=[_ROW]).reset_index(drop=True)
    return result[[c for c in frame.columns if c != _ROW] + [r.partition(":")[2] for r in features]]


def training_frame(
    store: FeatureStore,
    transactions: pa.Table,
    chargebacks: pa.Table,
    policy: LabelPolicy,
    *,
    features: Sequence[str] = FRAUD_MODEL_FEATURES,
) -> pd.DataFrame:
    """Labelled entity rows joined with their point-in-time features; one row per mature transaction."""
    labelled = label_transactions(transactions, chargebacks, policy)
    if labelled.num_rows == 0:
        raise EmptyTrainingSet(f"no transaction has a mature label at {policy.cutoff.isoformat()}")
    return historical_features(store, labelled, features=features)


def archive_training_frame(
    store: FeatureStore,
    raw_root: str,
    policy: LabelPolicy,
    *,
    s3: S3Settings | None = None,
    features: Sequence[str] = FRAUD_MODEL_FEATURES,
) -> pd.DataFrame:
    """The fraud model's training frame from the raw-events archive: the purchases and chargebacks known
    before the cutoff, labelled by `policy`, joined point in time with the store's features."""
    from riskloop_features.batch import read_raw_archive

    transactions, chargebacks, _catalog = read_raw_archive(raw_root, as_of=policy.cutoff, s3=s3)
    return training_frame(store, transactions, chargebacks, policy, features=features)

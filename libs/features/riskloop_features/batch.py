"""The batch feature job the hourly Airflow DAG runs: raw Parquet archive -> four offline feature tables
-> the online store.

Layout of the raw archive (a local folder or s3://bucket): `transactions/dt=YYYY-MM-DD/*.parquet`,
`chargebacks/dt=YYYY-MM-DD/*.parquet`, `event_catalog/*.parquet`. Each run recomputes every table from the
whole history up to `as_of` (lifetime features need it) and replaces the offline tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from riskloop_config.settings import S3Settings
from riskloop_features import sql
from riskloop_features.histories import event_history_snapshots, user_behavior_changes
from riskloop_features.names import (
    EVENT_HISTORICAL_VIEW,
    EVENT_KEY,
    EVENT_REALTIME_VIEW,
    PROMOTER_KEY,
    TIMESTAMP_FIELD,
    USER_BEHAVIOR_VIEW,
    USER_KEY,
    USER_REALTIME_VIEW,
    offline_table_path,
)
from riskloop_features.transactions import CHARGEBACK_SCHEMA, EVENT_CATALOG_SCHEMA, TIMESTAMP, TRANSACTION_SCHEMA
from riskloop_features.windows import EVENT_REALTIME_WINDOWS, USER_REALTIME_WINDOWS, window_feature_changes

if TYPE_CHECKING:
    from feast import FeatureStore

TRANSACTIONS_DIR = "transactions"
CHARGEBACKS_DIR = "chargebacks"
CATALOG_DIR = "event_catalog"

# Join keys and TTL of each view: what the online store keeps and for how long a row stays valid.
VIEW_KEYS: dict[str, tuple[str, ...]] = {
    EVENT_REALTIME_VIEW: (EVENT_KEY,),
    EVENT_HISTORICAL_VIEW: (EVENT_KEY, PROMOTER_KEY),
    USER_BEHAVIOR_VIEW: (USER_KEY,),
    USER_REALTIME_VIEW: (USER_KEY,),
}


class RawDataMissing(FileNotFoundError):
    """The raw archive has no transactions folder where the job was told to read."""


@dataclass(frozen=True)
class FeatureTables:
    """The four offline tables, one row per entity at every change point."""

    event_realtime_metrics: pa.Table
    event_historical_metrics: pa.Table
    user_purchase_behavior: pa.Table
    user_realtime_fraud_features: pa.Table

    def by_view(self) -> dict[str, pa.Table]:
        return {
            EVENT_REALTIME_VIEW: self.event_realtime_metrics,
            EVENT_HISTORICAL_VIEW: self.event_historical_metrics,
            USER_BEHAVIOR_VIEW: self.user_purchase_behavior,
            USER_REALTIME_VIEW: self.user_realtime_fraud_features,
        }


@dataclass(frozen=True)
class FeatureJobReport:
    as_of: datetime
    transactions: int
    offline_rows: dict[str, int]
    online_rows: dict[str, int]


def filesystem_for(uri: str, s3: S3Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path inside it for a local folder or an s3://bucket/prefix URI."""
    if not uri.startswith("s3://"):
        return pafs.LocalFileSystem(), uri
    if s3 is None:
        raise ValueError(f"{uri}: reading S3 needs S3Settings")
    options: dict[str, object] = {"region": s3.region}
    if s3.endpoint_url:
        scheme, _, host = s3.endpoint_url.partition("://")
        options.update(endpoint_override=host, scheme=scheme)
    if s3.access_key_id is not None and s3.secret_access_key is not None:
        options.update(
            access_key=s3.access_key_id.get_secret_value(), secret_key=s3.secret_access_key.get_secret_value()
        )
    return pafs.S3FileSystem(**options), uri.removeprefix("s3://")  # type: ignore[arg-type]


def _read(root: str, folder: str, schema: pa.Schema, s3: S3Settings | None, *, required: bool) -> pa.Table:
    filesystem, base = filesystem_for(root, s3)
    path = f"{base.rstrip('/')}/{folder}"
    if filesystem.get_file_info(path).type != pafs.FileType.Directory:
        if required:
            raise RawDataMissing(f"no {folder}/ under {root}")
        return schema.empty_table()
    dataset = ds.dataset(path, format="parquet", partitioning="hive", filesystem=filesystem)
    return dataset.to_table(columns=schema.names).cast(schema)


def read_raw_archive(
    root: str, *, as_of: datetime, s3: S3Settings | None = None
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(transactions, chargebacks, catalog) known strictly before `as_of`."""
    moment = pa.scalar(as_of, TIMESTAMP)
    transactions = _read(root, TRANSACTIONS_DIR, TRANSACTION_SCHEMA, s3, required=True)
    transactions = transactions.filter(pc.less(transactions.column(TIMESTAMP_FIELD), moment))
    chargebacks = _read(root, CHARGEBACKS_DIR, CHARGEBACK_SCHEMA, s3, required=False)
    chargebacks = chargebacks.filter(pc.less(chargebacks.column("chargeback_timestamp"), moment))
    catalog = _read(root, CATALOG_DIR, EVENT_CATALOG_SCHEMA, s3, required=False)
    return transactions, chargebacks, catalog


def compute_feature_tables(transactions: pa.Table, chargebacks: pa.Table, catalog: pa.Table) -> FeatureTables:
    """Every view's offline table from raw records; the realtime views through the shared window maths."""
    return FeatureTables(
        event_realtime_metrics=window_feature_changes(transactions, EVENT_REALTIME_WINDOWS, catalog=catalog),
        event_historical_metrics=event_history_snapshots(transactions, catalog),
        user_purchase_behavior=user_behavior_changes(transactions, chargebacks),
        user_realtime_fraud_features=window_feature_changes(transactions, USER_REALTIME_WINDOWS),
    )


def write_offline_tables(tables: FeatureTables, offline_root: str, *, s3: S3Settings | None = None) -> None:
    """Replace each view's folder under `offline_root` (the FileSource paths of `feature_definitions`)."""
    filesystem, base = filesystem_for(offline_root, s3)
    for view, table in tables.by_view().items():
        folder = offline_table_path(base, view)
        if filesystem.get_file_info(folder).type == pafs.FileType.Directory:
            filesystem.delete_dir_contents(folder)
        filesystem.create_dir(folder, recursive=True)
        pq.write_table(table, f"{folder}/part-0.parquet", filesystem=filesystem)


def read_offline_table(offline_root: str, view: str, *, s3: S3Settings | None = None) -> pa.Table:
    filesystem, base = filesystem_for(offline_root, s3)
    return ds.dataset(offline_table_path(base, view), format="parquet", filesystem=filesystem).to_table()


def online_rows(table: pa.Table, keys: tuple[str, ...], *, as_of: datetime, ttl: timedelta) -> pa.Table:
    """What the online store should hold at `as_of`: each entity's latest row at or before it, within ttl."""

    times = table.column(TIMESTAMP_FIELD)
    recent = table.filter(
        pc.and_(
            pc.greater_equal(times, pa.scalar(as_of - ttl, TIMESTAMP)),
            pc.less_equal(times, pa.scalar(as_of, TIMESTAMP)),
        )
    )
    with sql.connection() as connection:
        connection.register("recent_in", recent)
        result = connection.sql(
            f"""SELECT * FROM recent_in
                QUALIFY row_number() OVER (PARTITION BY {", ".join(keys)} ORDER BY {TIMESTAMP_FIELD} DESC) = 1"""
        ).to_arrow_table()
    return result.cast(table.schema)


def materialize_online(store: FeatureStore, tables: FeatureTables, *, as_of: datetime) -> dict[str, int]:
    """Write each view's values as of `as_of` to the online store; returns rows written per view."""
    written: dict[str, int] = {}
    for view, table in tables.by_view().items():
        ttl = store.get_feature_view(view).ttl or timedelta(days=365)
        rows = online_rows(table, VIEW_KEYS[view], as_of=as_of, ttl=ttl)
        if rows.num_rows:
            store.write_to_online_store(view, df=rows.to_pandas())
        written[view] = rows.num_rows
    return written


def run_feature_engineering(
    *,
    raw_root: str,
    offline_root: str,
    as_of: datetime,
    store: FeatureStore | None = None,
    s3: S3Settings | None = None,
) -> FeatureJobReport:
    """The hourly job: read the archive before `as_of`, write the offline tables, then (given a store)
    put the values as of `as_of` online."""
    transactions, chargebacks, catalog = read_raw_archive(raw_root, as_of=as_of, s3=s3)
    tables = compute_feature_tables(transactions, chargebacks, catalog)
    write_offline_tables(tables, offline_root, s3=s3)
    online = materialize_online(store, tables, as_of=as_of) if store is not None else {}
    return FeatureJobReport(
        as_of=as_of,
        transactions=transactions.num_rows,
        offline_rows={view: table.num_rows for view, table in tables.by_view().items()},
        online_rows=online,
    )

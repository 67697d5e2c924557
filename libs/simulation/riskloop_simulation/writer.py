"""Writing a simulated world as Hive-partitioned Parquet, to a local folder or an S3 prefix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from riskloop_features.transactions import CHARGEBACK_SCHEMA, EVENT_CATALOG_SCHEMA, TRANSACTION_SCHEMA
from riskloop_simulation.world import SimulatedData

_PARTITIONING = ds.partitioning(pa.schema([("dt", pa.string())]), flavor="hive")
# Files stay readable and row groups reasonably sized for the feature jobs.
_MAX_ROWS_PER_FILE = 1_000_000
_MAX_ROWS_PER_GROUP = 128 * 1024


class InvalidOutputLocation(ValueError):
    """A root that is neither a local folder nor an s3://bucket/prefix with a filesystem to reach it."""


def s3_filesystem(
    endpoint_url: str | None, access_key_id: str, secret_access_key: str, region: str
) -> pafs.S3FileSystem:
    """An S3 filesystem for an explicit endpoint (MinIO, moto) or AWS when `endpoint_url` is None."""
    scheme = "https"
    endpoint = None
    if endpoint_url is not None:
        scheme, _, endpoint = endpoint_url.partition("://")
        if not endpoint:
            raise InvalidOutputLocation(f"endpoint_url must look like http://host:port, got {endpoint_url!r}")
    return pafs.S3FileSystem(
        access_key=access_key_id,
        secret_key=secret_access_key,
        region=region,
        endpoint_override=endpoint,
        scheme=scheme,
    )


def resolve_root(root: str, filesystem: pafs.FileSystem | None) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of `root` (a local folder or s3://bucket/prefix)."""
    if root.startswith("s3://"):
        path = root[len("s3://") :].strip("/")
        if not path:
            raise InvalidOutputLocation(f"{root!r} names no bucket")
        if filesystem is None:
            # Libraries never pick up credentials from the environment: the caller builds the filesystem.
            raise InvalidOutputLocation(f"{root!r} needs a filesystem (see s3_filesystem)")
        return filesystem, path
    if "://" in root:
        raise InvalidOutputLocation(f"{root!r}: only local folders and s3:// URIs are supported")
    if filesystem is not None:
        return filesystem, root.rstrip("/")
    return pafs.LocalFileSystem(), str(Path(root).absolute())


def _with_dt(table: pa.Table, timestamp_column: str) -> pa.Table:
    day = pc.strftime(table.column(timestamp_column), format="%Y-%m-%d")
    return table.append_column("dt", day)


def _write_partitioned(table: pa.Table, base: str, filesystem: pafs.FileSystem) -> None:
    ds.write_dataset(
        table,
        base,
        format="parquet",
        filesystem=filesystem,
        partitioning=_PARTITIONING,
        basename_template="part-{i}.parquet",
        existing_data_behavior="delete_matching",
        max_rows_per_file=_MAX_ROWS_PER_FILE,
        max_rows_per_group=_MAX_ROWS_PER_GROUP,
        # Row order inside files must not depend on thread timing: same seed, same bytes.
        preserve_order=True,
    )


def write_parquet(data: SimulatedData, root: str, *, filesystem: pafs.FileSystem | None = None) -> None:
    """Write `<root>/transactions/dt=YYYY-MM-DD/part-*.parquet`, `<root>/chargebacks/dt=.../` (by the day
    the chargeback became known) and `<root>/events/events.parquet`."""
    fs, base = resolve_root(root, filesystem)
    _write_partitioned(_with_dt(data.transactions, "event_timestamp"), f"{base}/transactions", fs)
    _write_partitioned(_with_dt(data.chargebacks, "chargeback_timestamp"), f"{base}/chargebacks", fs)
    fs.create_dir(f"{base}/events", recursive=True)
    pq.write_table(data.events, f"{base}/events/events.parquet", filesystem=fs)


def read_parquet(root: str, *, filesystem: pafs.FileSystem | None = None) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(transactions, chargebacks, events) as written by write_parquet, without the dt partition column."""
    fs, base = resolve_root(root, filesystem)

    def partitioned(name: str, schema: pa.Schema, sort_key: str) -> pa.Table:
        dataset = ds.dataset(f"{base}/{name}", format="parquet", filesystem=fs, partitioning=_PARTITIONING)
        table = dataset.to_table(columns=schema.names)
        table = table.take(pc.sort_indices(table, sort_keys=[(sort_key, "ascending"), ("transaction_id", "ascending")]))
        return table.cast(schema)

    events = pq.read_table(f"{base}/events/events.parquet", filesystem=fs).cast(EVENT_CATALOG_SCHEMA)
    return (
        partitioned("transactions", TRANSACTION_SCHEMA, "event_timestamp"),
        partitioned("chargebacks", CHARGEBACK_SCHEMA, "chargeback_timestamp"),
        events,
    )

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskloop_config.settings import S3Settings
from riskloop_features import (
    EVENT_REALTIME_WINDOWS,
    USER_REALTIME_WINDOWS,
    RawDataMissing,
    WindowSpec,
    run_feature_engineering,
    value_as_of,
)
from riskloop_features.batch import filesystem_for, read_offline_table
from riskloop_features.testing_events import (
    CAPACITIES,
    Purchase,
    catalog_table,
    chargebacks_table,
    query_times,
    stream_states,
    transactions_table,
    tricky_purchases,
)


def write_archive(root: str, purchases: list[Purchase], s3: S3Settings | None = None) -> None:
    """The raw archive layout the Parquet sink writes: transactions/dt=YYYY-MM-DD/, event_catalog/."""
    filesystem, base = filesystem_for(root, s3)
    table = transactions_table(purchases)
    days = sorted({p.at.date() for p in purchases})
    for day in days:
        rows = table.filter(pa.array([p.at.date() == day for p in purchases]))
        folder = f"{base}/transactions/dt={day.isoformat()}"
        filesystem.create_dir(folder, recursive=True)
        pq.write_table(rows, f"{folder}/part-0.parquet", filesystem=filesystem)
    filesystem.create_dir(f"{base}/event_catalog", recursive=True)
    pq.write_table(catalog_table(CAPACITIES), f"{base}/event_catalog/catalog.parquet", filesystem=filesystem)
    filesystem.create_dir(f"{base}/chargebacks/dt={days[0].isoformat()}", recursive=True)
    pq.write_table(
        chargebacks_table([(purchases[0].transaction_id, purchases[0].user_id, purchases[0].at + timedelta(days=2))]),
        f"{base}/chargebacks/dt={days[0].isoformat()}/part-0.parquet",
        filesystem=filesystem,
    )


@pytest.mark.parametrize("spec", [USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS], ids=lambda s: s.view)
def test_batch_job_and_stream_agree_for_every_entity_and_query(tmp_path: Path, spec: WindowSpec) -> None:
    purchases = tricky_purchases(seed=5, count=100)
    write_archive(str(tmp_path / "raw"), purchases)
    end = purchases[-1].at + timedelta(days=2)
    run_feature_engineering(raw_root=str(tmp_path / "raw"), offline_root=str(tmp_path / "offline"), as_of=end)
    batch = read_offline_table(str(tmp_path / "offline"), spec.view)

    queries = query_times(purchases)
    keys = list(CAPACITIES) if spec.uses_catalog else ["u1", "u2", "u3"]
    compared = 0
    for moment, state in zip(queries, stream_states(spec, purchases, queries), strict=True):
        for key in keys:
            expected = value_as_of(batch, spec.entity, key, moment)
            if expected is None:
                assert key not in state
                continue
            del expected[spec.entity], expected["event_timestamp"]
            assert state[key] == expected, (key, moment)
            compared += 1
    assert compared > 100


def test_batch_job_reads_the_archive_from_s3_and_writes_offline_tables_there(
    s3_server,
    s3_bucket,  # type: ignore[no-untyped-def]
) -> None:
    s3 = S3Settings(
        backend="s3",
        endpoint_url=s3_server.endpoint_url,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
        region=s3_server.region,
    )
    purchases = tricky_purchases(seed=9, count=30)
    write_archive(f"s3://{s3_bucket}/raw", purchases, s3)
    as_of = purchases[15].at
    report = run_feature_engineering(
        raw_root=f"s3://{s3_bucket}/raw", offline_root=f"s3://{s3_bucket}/offline", as_of=as_of, s3=s3
    )
    assert report.transactions == sum(p.at < as_of for p in purchases)
    table = read_offline_table(f"s3://{s3_bucket}/offline", USER_REALTIME_WINDOWS.view, s3=s3)
    assert table.num_rows == report.offline_rows[USER_REALTIME_WINDOWS.view] > 0
    # The purchase at as_of and later ones were not read: nothing changes at or after their arrival.
    assert max(table.column("event_timestamp").to_pylist()) <= as_of + timedelta(days=1, microseconds=1)


def test_missing_archive_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RawDataMissing):
        run_feature_engineering(
            raw_root=str(tmp_path / "nothing"), offline_root=str(tmp_path / "offline"), as_of=tricky_purchases()[0].at
        )

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pyarrow.dataset as ds
import pytest

from riskloop_simulation import (
    InvalidOutputLocation,
    SimulatedData,
    WorldConfig,
    read_parquet,
    s3_filesystem,
    simulate,
    write_parquet,
)


class S3Server(Protocol):
    """What this test uses of the harness's `s3_server` fixture (kept structural: the layer rules let
    this library's code depend on config and features only)."""

    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str

    def client(self) -> Any: ...


TINY = WorldConfig(seed=4, n_users=800, n_events=20, n_promoters=4, n_venues=6, days=4)


@pytest.fixture(scope="module")
def tiny() -> SimulatedData:
    return simulate(TINY)


def _assert_roundtrip(tiny: SimulatedData, root: str, filesystem: object = None) -> None:
    transactions, chargebacks, events = read_parquet(root, filesystem=filesystem)  # type: ignore[arg-type]
    assert transactions.equals(tiny.transactions)
    assert chargebacks.equals(tiny.chargebacks)
    assert events.equals(tiny.events)


def test_parquet_roundtrip_on_local_folder_is_hive_partitioned_by_day(tiny: SimulatedData, tmp_path: Path) -> None:
    write_parquet(tiny, str(tmp_path / "world"))
    days = sorted(p.name for p in (tmp_path / "world" / "transactions").iterdir())
    assert days == [f"dt=2026-01-0{d}" for d in range(5, 9)]
    assert list((tmp_path / "world" / "transactions" / "dt=2026-01-05").glob("part-*.parquet"))
    assert (tmp_path / "world" / "events" / "events.parquet").is_file()
    # Chargebacks are partitioned by the day they became known, after the purchases.
    assert min(p.name for p in (tmp_path / "world" / "chargebacks").iterdir()) >= "dt=2026-01-07"
    _assert_roundtrip(tiny, str(tmp_path / "world"))


def test_same_seed_writes_byte_identical_parquet(tiny: SimulatedData, tmp_path: Path) -> None:
    write_parquet(tiny, str(tmp_path / "a"))
    write_parquet(simulate(TINY), str(tmp_path / "b"))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.parquet"))
    assert files_a == files_b and files_a
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative


def test_rewriting_replaces_the_partitions(tiny: SimulatedData, tmp_path: Path) -> None:
    write_parquet(tiny, str(tmp_path))
    write_parquet(tiny, str(tmp_path))
    assert ds.dataset(str(tmp_path / "transactions"), partitioning="hive").count_rows() == tiny.transactions.num_rows


def test_parquet_roundtrip_on_s3_server(tiny: SimulatedData, s3_server: S3Server, s3_bucket: str) -> None:
    server = s3_server
    filesystem = s3_filesystem(server.endpoint_url, server.access_key_id, server.secret_access_key, server.region)
    root = f"s3://{s3_bucket}/worlds/seed-4"
    write_parquet(tiny, root, filesystem=filesystem)
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert "worlds/seed-4/events/events.parquet" in keys
    assert any(k.startswith("worlds/seed-4/transactions/dt=2026-01-05/part-") for k in keys)
    assert any(k.startswith("worlds/seed-4/chargebacks/dt=") for k in keys)
    _assert_roundtrip(tiny, root, filesystem)


def test_s3_root_without_filesystem_is_refused(tiny: SimulatedData) -> None:
    with pytest.raises(InvalidOutputLocation, match="needs a filesystem"):
        write_parquet(tiny, "s3://bucket/prefix")


def test_unknown_scheme_is_refused(tiny: SimulatedData) -> None:
    with pytest.raises(InvalidOutputLocation, match="only local folders"):
        write_parquet(tiny, "gs://bucket/prefix")

"""The `run` command as deployed: a process configured by environment variables, stopped by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

from riskloop_streaming.testing import fresh_kafka_settings, kafka_env, produce_transactions, sample_transaction
from riskloop_testing.services import KafkaBroker, subprocess_env


def test_run_archives_to_a_local_folder_and_stops_cleanly_on_sigterm(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=2)
    env = {
        **subprocess_env(),
        "RISKLOOP_ENVIRONMENT": "local",
        **kafka_env(kafka),
        "RISKLOOP_S3__BACKEND": "local",
        "RISKLOOP_S3__LOCAL_ROOT": str(tmp_path),
    }
    log = tmp_path / "sink.log"
    with open(log, "wb") as out:
        sink = subprocess.Popen(
            [sys.executable, "-m", "riskloop_parquet_sink", "run", "--flush-seconds", "0.5", "--metrics-port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # The command creates the topics itself; produce once they exist.
        deadline = time.monotonic() + 60
        while b"sink started" not in log.read_bytes():
            assert sink.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        produce_transactions(kafka, [sample_transaction(i) for i in range(300)])
        table_root = tmp_path / "raw-events" / "transactions"
        while (
            not table_root.exists() or ds.dataset(table_root, format="parquet", partitioning="hive").count_rows() < 300
        ):
            assert sink.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(timeout=30) == 0
    finally:
        if sink.poll() is None:
            sink.kill()
    assert ds.dataset(table_root, format="parquet", partitioning="hive").count_rows() == 300
    assert b'"message": "flushed"' in log.read_bytes()  # JSON log lines

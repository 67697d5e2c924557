"""Stream worker throughput on one core and freshness (produce to visible in the online store), beside a
naive baseline that writes each event to the online store on its own, measured in the same run.

Starts a Tansu broker, leases a Redis database, applies the Feast definitions to a temporary registry,
then runs the real worker (`python -m riskloop_stream_worker run`) pinned to one core. Load comes from a
separate producer process (aiokafka, ~50k purchases/s here), so the worker is what limits:

  capacity   --events purchases produced as fast as possible; events/s = events / (last consumed - first
             produced). Probes during it show freshness while a backlog drains (overload).
  rate       --rate purchases/s for --rate-seconds: freshness under a steady load the worker can carry.
  at rest    probes alone.

A probe is one purchase by a brand-new user (every --probe-interval seconds); a poller notes when Feast's
online read first serves its count.

    python bench/streaming/worker_bench.py --events 200000 --rate 10000
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from riskloop_config.settings import FeastSettings, KafkaSettings, RedisSettings
from riskloop_features.definitions import feature_definitions
from riskloop_features.names import USER_REALTIME_VIEW
from riskloop_features.store import feature_store
from riskloop_features.testing_events import catalog_table
from riskloop_stream_worker.testing_process import worker_env
from riskloop_streaming.decoding import encode_transaction
from riskloop_streaming.testing import fresh_kafka_settings, producer, sample_transaction
from riskloop_streaming.topics import ensure_topics
from riskloop_testing.services import free_port, kafka_broker, redis_database

EVENTS_IN_CATALOG = 500
PROBE_FEATURE = f"{USER_REALTIME_VIEW}:user_txn_count_1h"


@dataclass(frozen=True)
class Figures:
    label: str
    events: int
    seconds: float
    p50_ms: float
    p99_ms: float
    busy: float | None = None  # share of its core the worker used meanwhile


    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def events_consumed(metrics_port: int) -> float:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    return sum(float(m) for m in re.findall(r"^riskloop_stream_events_total\{[^}]*\} (\S+)$", body, re.M))


def stage_means(metrics_port: int) -> dict[str, float]:
    """Mean seconds per stage (compute, write, produce_to_visible) from the worker's histograms."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read().decode()
    sums = dict(re.findall(r'^riskloop_stream_batch_seconds_sum\{[^}]*stage="([^"]+)"\} (\S+)$', body, re.M))
    counts = dict(re.findall(r'^riskloop_stream_batch_seconds_count\{[^}]*stage="([^"]+)"\} (\S+)$', body, re.M))
    return {stage: float(sums[stage]) / float(counts[stage]) for stage in sums if float(counts.get(stage, 0))}


class Probes:
    """One purchase by a brand-new user every `interval`; a poller notes when Feast first serves its count."""

    def __init__(self, kafka: KafkaSettings, store: Any, interval: float, *, prefix: str) -> None:
        self._kafka, self._store, self._interval, self._prefix = kafka, store, interval, prefix
        self._producer = producer(kafka, linger_ms=0)
        self._sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.sent_count = 0

    def send(self, user: str) -> None:
        record = sample_transaction(0, at=datetime.now(UTC)) | {
            "user_id": user,
            "transaction_id": f"probe-{user}",
        }
        sent = time.time()
        self._producer.send(self._kafka.raw_transactions_topic, key=user.encode(), value=encode_transaction(record))
        self._producer.flush()
        with self._lock:
            self._sent[user] = sent
            self.sent_count += 1

    def wait_visible(self, user: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            values = self._store.get_online_features(
                features=[PROBE_FEATURE], entity_rows=[{"user_id": user}]
            ).to_dict()
            if values["user_txn_count_1h"][0] is not None:
                return time.time()
            time.sleep(0.005)
        raise TimeoutError(f"probe {user} not visible within {timeout}s")

    def _poll(self) -> None:
        while not self._stop.is_set() or self._sent:
            with self._lock:
                pending = dict(self._sent)
            if pending:
                users = sorted(pending)
                values = self._store.get_online_features(
                    features=[PROBE_FEATURE], entity_rows=[{"user_id": u} for u in users]
                ).to_dict()
                now = time.time()
                for user, count in zip(values["user_id"], values["user_txn_count_1h"], strict=True):
                    if count is not None:
                        self.latencies.append(now - pending[user])
                        with self._lock:
                            self._sent.pop(user, None)
            time.sleep(0.005)

    def _send_loop(self) -> None:
        k = 0
        while not self._stop.is_set():
            self.send(f"{self._prefix}-{k:06d}")
            k += 1
            time.sleep(self._interval)

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._poll, daemon=True),
            threading.Thread(target=self._send_loop, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._producer.close()


def produce(
    bootstrap_servers: str, topic: str, n: int, users: int, rate: float | None, seed: int, ready: Any, go: Any
) -> None:
    """The load, in its own process: `n` purchases, at `rate` per second or as fast as possible, sent once
    `go` is set (after `ready`: making the payloads is not part of the measurement)."""
    from aiokafka import AIOKafkaProducer

    batch = payloads(n, users, seed)
    ready.set()
    go.wait()

    async def send_all() -> None:
        client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks=1, linger_ms=5, max_batch_size=1 << 20)
        await client.start()
        try:
            started, sent = time.perf_counter(), []
            for i, (key, value) in enumerate(batch):
                if rate and i % 100 == 0:
                    await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                sent.append(await client.send(topic, key=key, value=value))
            await asyncio.gather(*sent)
        finally:
            await client.stop()

    asyncio.run(send_all())


class LoadProcess:
    """A producer process with its payloads made; `go()` starts the sending."""

    def __init__(self, bootstrap_servers: str, topic: str, n: int, users: int, rate: float | None, seed: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._go = context.Event(), context.Event()
        arguments = (bootstrap_servers, topic, n, users, rate, seed, self._ready, self._go)
        self._process = context.Process(target=produce, args=arguments, daemon=True)
        self._process.start()
        if not self._ready.wait(timeout=300):
            raise TimeoutError("the producer process did not get ready")

    def go(self) -> None:
        self._go.set()

    def join(self) -> None:
        self._process.join()
        if self._process.exitcode:
            raise RuntimeError(f"the producer process failed (exit code {self._process.exitcode})")


def payloads(n: int, users: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        user = f"u{rng.randrange(users):07d}"
        at = now - timedelta(seconds=rng.uniform(0, 1800))
        record = sample_transaction(i, at=at, events=EVENTS_IN_CATALOG) | {"user_id": user}
        out.append((user.encode(), encode_transaction(record)))
    return out


def run_worker(args: argparse.Namespace, console: Console) -> tuple[Figures, Figures, Figures, Figures]:
    with kafka_broker() as broker, redis_database() as leased, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kafka = fresh_kafka_settings(broker.bootstrap_servers, partitions=args.partitions)
        ensure_topics(kafka)
        feast = FeastSettings(
            online_store="redis", registry=str(root / "registry.db"), offline_root=str(root / "offline")
        )
        redis = RedisSettings(host=leased.host, port=leased.port, db=leased.db)
        store = feature_store(feast, redis=redis)
        store.apply(feature_definitions(feast.offline_root).objects())
        catalog = root / "objects" / "raw-events" / "events" / "events.parquet"
        catalog.parent.mkdir(parents=True)
        pq.write_table(catalog_table({f"e{i:04d}": 100_000 for i in range(EVENTS_IN_CATALOG)}), catalog)

        metrics_port = free_port()
        command = [
            sys.executable,
            "-m",
            "riskloop_stream_worker",
            "run",
            "--metrics-port",
            str(metrics_port),
            "--log-level",
            "WARNING",
        ]
        with open(root / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                ["taskset", "-c", str(args.core), *command],
                env=worker_env(kafka, feast, redis, root),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            probes = Probes(kafka, store, args.probe_interval, prefix="warmup")
            console.print("waiting for the worker to start (Feast import, replay, group join)...")
            probes.send("warmup")
            probes.wait_visible("warmup", timeout=180)
            probes.stop()

            def wait_consumed(target: Callable[[], float]) -> float:
                while events_consumed(metrics_port) < target():
                    if worker.poll() is not None:
                        raise RuntimeError(f"worker exited: {(root / 'worker.log').read_text()[-2000:]}")
                    time.sleep(0.01)
                return time.time()

            console.print(f"capacity: {args.events:,} purchases as fast as the producer process can...")
            overload = Probes(kafka, store, args.probe_interval, prefix="overload")
            topic = kafka.raw_transactions_topic
            loader = LoadProcess(kafka.bootstrap_servers, topic, args.events, args.users, None, 7)
            before = events_consumed(metrics_port)
            started, cpu_before = time.time(), cpu_seconds(worker.pid)
            loader.go()
            overload.start()
            loader.join()
            produced = time.time() - started
            consumed = wait_consumed(lambda: before + args.events + overload.sent_count) - started
            overload.stop()
            capacity = Figures(
                "stream worker (1 core), draining a backlog (overload)",
                args.events,
                consumed,
                1000 * percentile(overload.latencies, 0.5),
                1000 * percentile(overload.latencies, 0.99),
                (cpu_seconds(worker.pid) - cpu_before) / consumed,
            )
            console.print(
                f"produced in {produced:.2f}s ({args.events / produced:,.0f}/s), consumed by {consumed:.2f}s "
                f"({args.events / consumed:,.0f}/s); {len(overload.latencies)} probes"
            )
            if consumed < 1.1 * produced:
                console.print("[yellow]the worker kept up with the producer: its capacity is at least this figure")

            steady_events = int(args.rate * args.rate_seconds)
            console.print(f"steady load: {args.rate:,.0f} purchases/s for {args.rate_seconds:.0f}s...")
            steady = Probes(kafka, store, args.probe_interval, prefix="steady")
            loader = LoadProcess(
                kafka.bootstrap_servers, kafka.raw_transactions_topic, steady_events, args.users, args.rate, 8
            )
            started, cpu_before = time.time(), cpu_seconds(worker.pid)
            loader.go()
            steady.start()
            loader.join()
            steady.stop()
            elapsed = time.time() - started
            loaded = Figures(
                f"stream worker, steady {args.rate:,.0f} purchases/s",
                steady_events,
                elapsed,
                1000 * percentile(steady.latencies, 0.5),
                1000 * percentile(steady.latencies, 0.99),
                (cpu_seconds(worker.pid) - cpu_before) / elapsed,
            )

            idle = Probes(kafka, store, args.probe_interval, prefix="idle")
            idle.start()
            time.sleep(args.idle_seconds)
            idle.stop()
            console.print(f"worker stage means (s): { {k: round(v, 3) for k, v in stage_means(metrics_port).items()} }")
            quiet = Figures(
                "stream worker, freshness at rest",
                len(idle.latencies),
                0.0,
                1000 * percentile(idle.latencies, 0.5),
                1000 * percentile(idle.latencies, 0.99),
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        baseline = naive_baseline(store, args.baseline_events)
        return capacity, loaded, quiet, baseline


def naive_baseline(store: Any, n: int) -> Figures:
    """Each event written on its own with `write_to_online_store` (no window maths at all: a lower bound)."""
    latencies = []
    now = pd.Timestamp.now(tz="UTC")
    started = time.time()
    for i in range(n):
        frame = pd.DataFrame(
            [
                {
                    "user_id": f"naive-{i % 1000}",
                    "event_timestamp": now,
                    "user_txn_count_1h": i,
                    "user_txn_amount_1h": 1.0,
                    "user_distinct_events_1h": 1,
                    "user_avg_amount_24h": 1.0,
                }
            ]
        )
        t = time.perf_counter()
        store.write_to_online_store(USER_REALTIME_VIEW, frame)
        latencies.append(time.perf_counter() - t)
    return Figures(
        "naive per-event write_to_online_store",
        n,
        time.time() - started,
        1000 * percentile(latencies, 0.5),
        1000 * percentile(latencies, 0.99),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10_000, help="purchases/s of the steady-load phase")
    parser.add_argument("--rate-seconds", type=float, default=15.0)
    parser.add_argument("--probe-interval", type=float, default=0.05)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--baseline-events", type=int, default=2_000)
    parser.add_argument(
        "--core", type=int, default=0, help="CPU the worker is pinned to; the bench and broker use the others"
    )
    args = parser.parse_args(argv)
    others = set(os.sched_getaffinity(0)) - {args.core}
    if others:
        os.sched_setaffinity(0, others)  # keep the producer, poller and broker off the worker's core
    console = Console(width=160)
    capacity, loaded, quiet, baseline = run_worker(args, console)
    table = Table(title="stream worker vs naive per-event online writes (same run)")
    for column in ("path", "events", "seconds", "events/s", "freshness p50 ms", "freshness p99 ms", "worker core"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for figures in (capacity, loaded):
        table.add_row(
            figures.label,
            f"{figures.events:,}",
            f"{figures.seconds:.2f}",
            f"{figures.events_per_second:,.0f}",
            f"{figures.p50_ms:.0f}",
            f"{figures.p99_ms:.0f}",
            "" if figures.busy is None else f"{figures.busy:.0%} busy",
        )
    table.add_row(quiet.label, f"{quiet.events:,}", "", "", f"{quiet.p50_ms:.0f}", f"{quiet.p99_ms:.0f}", "")
    table.add_row(
        baseline.label + " (write latency)",
        f"{baseline.events:,}",
        f"{baseline.seconds:.2f}",
        f"{baseline.events_per_second:,.0f}",
        f"{baseline.p50_ms:.1f}",
        f"{baseline.p99_ms:.1f}",
        "",
    )
    console.print(table)
    console.print(
        f"capacity / naive per-event writes: x{capacity.events_per_second / baseline.events_per_second:,.0f} "
        f"events/s (goal: >= 20,000 events/s on one core; freshness p99 <= 1,000 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How fast the fraud API scores one transaction, against a naive baseline and the floor.

Starts everything for real: a leased database of the machine's Redis filled through Feast, a Tansu broker,
a local MLflow registry holding a small synthetic champion, and the app's `serve` command (two workers).

  service   POST /predict with one transaction over HTTP, open loop at a fixed rate (default 200 req/s),
            latency per request from its scheduled send time (a minimal asyncio HTTP/1.1 client, see
            `_open_loop`); then closed-loop throughput (aiohttp, 16 connections).
  ours      the same scoring in-process (`Scorer.score`: one Redis pipeline, one model call + SHAP reasons).
  naive     per request `FeatureStore.get_online_features` + the training contract's pandas scoring path.
  floor     one Redis round trip (one pipeline of HMGETs) + one `Booster.inplace_predict` on a ready row.
  HTTP floor  the same open loop against a bare uvicorn app (bare_asgi.py) answering a /predict-sized body:
            what the load generator, the loopback and uvicorn cost without BentoML or scoring.

    python bench/serving/predict_bench.py --rate 200 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import random
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp  # pants: no-infer-dep (comes with bentoml)
import numpy as np
import pandas as pd
import redis
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from riskloop_config.settings import FeastSettings, RedisSettings
from riskloop_features import feature_definitions, feature_store
from riskloop_features.online_layout import entity_key, field_name
from riskloop_fraud_api.testing_server import served, server_env
from riskloop_scoring.online import DEFAULT_VIEW_JOIN_KEYS, RedisFeatureReader
from riskloop_scoring.scorer import Scorer, prepare
from riskloop_scoring.testing_models import local_mlflow, register_model, train_booster
from riskloop_testing import services
from riskloop_testing.services import free_port, stop_process_group, wait_for_port
from riskloop_training.model_contract import LoadedModel

USERS, EVENTS, PROMOTERS = 2000, 200, 20
PROJECT = "riskloop"
T = TypeVar("T")


def _fill_online_store(redis_settings: RedisSettings, folder: Path) -> object:
    """Every view's values for USERS users and EVENTS events, written by Feast; returns the FeatureStore."""
    feast = FeastSettings(
        project=PROJECT,
        online_store="redis",
        registry=str(folder / "registry.db"),
        offline_root=str(folder / "offline"),
        sqlite_path=folder / "online.db",  # unused with Redis, but its folder is created
        repo_path=folder,
    )
    store = feature_store(feast, redis=redis_settings)
    store.apply(feature_definitions(feast.offline_root).objects())
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    users = [f"u{i}" for i in range(USERS)]
    events = [f"e{i}" for i in range(EVENTS)]
    store.write_to_online_store("user_realtime_fraud_features", pd.DataFrame({
        "user_id": users, "event_timestamp": now,
        "user_txn_count_1h": rng.poisson(2, USERS), "user_txn_amount_1h": rng.gamma(2, 100, USERS),
        "user_distinct_events_1h": rng.poisson(1, USERS), "user_avg_amount_24h": rng.gamma(2, 50, USERS),
    }))
    store.write_to_online_store("user_purchase_behavior", pd.DataFrame({
        "user_id": users, "event_timestamp": now, "lifetime_purchases": rng.poisson(20, USERS),
        "fraud_risk_score": rng.random(USERS), "preferred_category": rng.choice(["comedy", "concert", "sports"], USERS),
    }))
    store.write_to_online_store("event_realtime_metrics", pd.DataFrame({
        "event_id": events, "event_timestamp": now, "current_inventory": rng.integers(0, 5000, EVENTS),
        "sell_through_rate_5min": rng.random(EVENTS), "concurrent_viewers": rng.poisson(30, EVENTS),
    }))
    return store


def _transaction(i: int) -> dict[str, object]:
    rng = random.Random(i)
    return {
        "transaction_id": f"bench-{i}",
        "user_id": f"u{rng.randrange(USERS)}",
        "event_id": f"e{rng.randrange(EVENTS)}",
        "promoter_id": f"p{rng.randrange(PROMOTERS)}",
        "amount": round(rng.uniform(10, 900), 2),
        "tickets": rng.randint(1, 8),
        "payment_method": rng.choice(["card", "paypal", "apple_pay"]),
    }


def _server_quantiles(metrics_text: str, q: float) -> dict[str, float]:
    """Per /predict latency histogram the server exposes, the smallest bucket bound holding `q` of the
    observations (ms): the server's own view of its tail, without the client or the network."""
    bounds: dict[str, dict[float, float]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if not sample.name.endswith("_bucket") or sample.labels.get("endpoint", "/predict") != "/predict":
                continue
            if "duration" not in sample.name and "latency" not in sample.name:
                continue
            per_bound = bounds.setdefault(sample.name.removesuffix("_bucket"), {})
            bound = float(sample.labels["le"])
            per_bound[bound] = per_bound.get(bound, 0.0) + sample.value
    quantiles = {}
    for name, cumulative in bounds.items():
        total = cumulative.get(float("inf"), 0.0)
        if total:
            quantiles[name] = 1000 * min(b for b, n in cumulative.items() if n >= q * total)
    return quantiles


def _worker_cpu_seconds(server_pid: int) -> dict[int, float]:
    """CPU seconds (user + system) each worker process of the server has used so far."""
    import psutil  # pants: no-infer-dep (comes with bentoml)

    return {child.pid: sum(child.cpu_times()[:2]) for child in psutil.Process(server_pid).children()}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _time_calls(call: Callable[[int], object], count: int) -> list[float]:
    for i in range(min(50, count)):  # warm-up
        call(i)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the open-loop client: one request in flight, the response read
    by its Content-Length (what the service always sends)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._need: int | None = None
        self._status = 0
        self.answer: asyncio.Future[int] | None = None
        self.answered_at = 0.0  # perf_counter when the last byte of the response was read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            self._status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else len(head)]) if at >= 0 else 0
            self._need = end + 4 + length
        if len(self._buffer) >= self._need:
            del self._buffer[: self._need]
            self._need = None
            if self.answer is not None and not self.answer.done():
                self.answered_at = time.perf_counter()
                self.answer.set_result(self._status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"connection lost: {exc}"))


async def _open_loop(url: str, rate: float, seconds: float, connections: int) -> tuple[list[float], int]:
    """Requests sent on a fixed schedule regardless of answers; latency counts from the scheduled time, so
    a stalled server shows up as latency (no coordinated omission), and ends when the response's last byte
    is read.

    The client is a minimal asyncio HTTP/1.1 keep-alive client, because its own CPU is on the measured path
    and shares this 2-core machine with the server: per request it costs ~0.4 ms, where aiohttp added ~1 ms
    to the p50 and httpx took a whole core at 100 req/s. Requests are encoded before the run; idle
    connections are taken in turn, as many callers' would be, so the server's workers share the load (a new
    one is opened when all are busy). Run it on an event loop over select(), whose timers have microsecond
    resolution (epoll's are milliseconds: every send would be up to 1 ms late)."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    loop = asyncio.get_running_loop()
    idle: collections.deque[_Connection] = collections.deque()
    latencies: list[float] = []
    failures = 0
    total = int(rate * seconds)

    def encoded(i: int) -> bytes:
        body = json.dumps({"transactions": [_transaction(i)]}).encode()
        head = f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    requests = [encoded(i) for i in range(total + 50)]

    async def one(i: int, scheduled: float) -> None:
        nonlocal failures
        connection = None
        finished = 0.0
        try:
            while idle and connection is None:
                candidate = idle.popleft()
                connection = None if candidate.closed else candidate
            if connection is None:
                _, connection = await loop.create_connection(_Connection, host, int(port))
            connection.answer = loop.create_future()
            assert connection.transport is not None
            connection.transport.write(requests[i])
            if await asyncio.wait_for(connection.answer, timeout=10) != 200:
                failures += 1
            finished = connection.answered_at  # not when this task resumes: that is the client's own delay
            idle.append(connection)
        except (OSError, asyncio.TimeoutError):
            failures += 1
            if connection is not None and connection.transport is not None:
                connection.transport.close()
        latencies.append((finished or time.perf_counter()) - scheduled)

    for _ in range(connections):
        idle.append((await loop.create_connection(_Connection, host, int(port)))[1])
    for i in range(50):  # warm-up
        await one(total + i, time.perf_counter())
    latencies.clear()
    failures = 0
    # This process holds feast, pandas and mlflow: a full collection of its heap stalls the load generator
    # for ~100 ms, which would be counted as server latency. Freeze what exists and collect only after.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        start = time.perf_counter() + 0.01
        sent = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent.append(asyncio.ensure_future(one(i, scheduled)))
        await asyncio.gather(*sent)
    finally:
        gc.enable()
        gc.unfreeze()
    return latencies, failures


@contextlib.contextmanager
def _bare_http_server(log_path: Path) -> Iterator[str]:
    """bare_asgi.py under uvicorn (uvloop, httptools: what BentoML serves with), in its own process."""
    port = free_port()
    module = f"{__package__}.bare_asgi" if __package__ else "bare_asgi"  # `serving.bare_asgi` in the pex
    command = [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(port), "--loop", "uvloop"]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=60, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process, grace_seconds=5)


def _run_on_select_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def _closed_loop(url: str, concurrency: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(f"{url}/", timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def worker(w: int) -> None:
            nonlocal done
            i = w * 1_000_000
            while time.perf_counter() < deadline:
                async with client.post("predict", json={"transactions": [_transaction(i)]}) as response:
                    await response.read()
                done += 1
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return done / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the open-loop run")
    parser.add_argument("--calls", type=int, default=2000, help="in-process calls per variant")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients for throughput")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections of the open loop")
    args = parser.parse_args(argv)
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    console = Console()
    folder = Path(tempfile.mkdtemp(prefix="riskloop-bench-"))

    mlflow = local_mlflow(folder / "mlflow")
    booster, metadata = train_booster(rounds=100)
    register_model(mlflow, booster, metadata)
    model = LoadedModel(booster, metadata, "bench")

    with services.redis_database() as db, services.kafka_broker() as broker:
        redis_settings = RedisSettings(host=db.host, port=db.port, db=db.db)
        console.print("filling the online store through Feast ...")
        store = _fill_online_store(redis_settings, folder / "feast")

        reader = RedisFeatureReader(redis_settings, project=PROJECT)
        scorer = Scorer(reader)
        scorer.swap(prepare(model, reader))
        ours = _time_calls(lambda i: scorer.score([_transaction(i)]), args.calls)

        snapshot = scorer.snapshot
        assert snapshot is not None
        plan = snapshot.plan
        refs = plan.online_refs

        def naive(i: int) -> object:
            txn = _transaction(i)
            row = {"user_id": txn["user_id"], "event_id": txn["event_id"], "promoter_id": txn["promoter_id"]}
            online = store.get_online_features(  # type: ignore[attr-defined]
                features=[r.ref for r in refs], entity_rows=[row], full_feature_names=True
            ).to_dict()
            record = dict(txn)
            for source in plan.sources:
                if source.online is not None:
                    record[source.name] = online[f"{source.online.view}__{source.online.name}"][0]
            return model.score(pd.DataFrame([record]))

        naive_samples = _time_calls(naive, max(200, args.calls // 4))

        client = redis.Redis(host=db.host, port=db.port, db=db.db)
        views = sorted({r.view for r in refs})
        fields = {view: [field_name(r.view, r.name) for r in refs if r.view == view] for view in views}
        ready_row = np.zeros((1, len(metadata.feature_names)), dtype=np.float32)

        def floor(i: int) -> object:
            txn = _transaction(i)
            with client.pipeline(transaction=False) as pipe:
                for view in views:
                    keys = DEFAULT_VIEW_JOIN_KEYS[view]
                    pipe.hmget(entity_key(keys, [str(txn[k]) for k in keys], project=PROJECT), fields[view])
                pipe.execute()
            return booster.inplace_predict(ready_row)

        booster.set_param({"nthread": 1})
        floor_samples = _time_calls(floor, args.calls)

        env = server_env(
            redis_host=db.host,
            redis_port=db.port,
            redis_db=db.db,
            tracking_uri=mlflow.tracking_uri,
            artifact_location=str(mlflow.artifact_location),
            bootstrap_servers=broker.bootstrap_servers,
            data_dir=folder / "var",
        )
        with _bare_http_server(folder / "bare-asgi.log") as bare_url:
            http_floor, _ = _run_on_select_loop(_open_loop(bare_url, args.rate, args.seconds, args.connections))
        console.print("starting the service ...")
        with served(env) as server:
            open_loop = _open_loop(server.url, args.rate, args.seconds, args.connections)
            cpu_before, started = _worker_cpu_seconds(server.process.pid), time.perf_counter()
            latencies, failures = _run_on_select_loop(open_loop)
            elapsed = time.perf_counter() - started
            cpu_after = _worker_cpu_seconds(server.process.pid)
            worker_cpu = {pid: cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after}
            with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
                metrics_text = response.read().decode()
            server_p50 = _server_quantiles(metrics_text, 0.5)
            server_p99 = _server_quantiles(metrics_text, 0.99)
            throughput = asyncio.run(_closed_loop(server.url, args.concurrency, 10.0))

    table = Table(title="/predict, one transaction (milliseconds)")
    for column in ("variant", "p50", "p99", "mean", "calls"):
        table.add_column(column, justify="right" if column != "variant" else "left")
    rows = {
        f"service over HTTP @ {args.rate:.0f} req/s": latencies,  # label kept: it keys `stats` below
        "ours in-process (Scorer.score)": ours,
        "naive (Feast get_online_features + pandas)": naive_samples,
        "floor (1 Redis round trip + 1 predict)": floor_samples,
        f"HTTP floor: bare uvicorn app @ {args.rate:.0f} req/s": http_floor,
    }
    stats = {}
    for label, samples in rows.items():
        p50, p99 = _percentiles(samples)
        stats[label] = (p50, p99)
        table.add_row(label, f"{p50:.2f}", f"{p99:.2f}", f"{statistics.fmean(samples) * 1000:.2f}", str(len(samples)))
    console.print(table)
    service_p50, service_p99 = stats[f"service over HTTP @ {args.rate:.0f} req/s"]
    ours_p50, ours_p99 = stats["ours in-process (Scorer.score)"]
    naive_p50, naive_p99 = stats["naive (Feast get_online_features + pandas)"]
    floor_p50, floor_p99 = stats["floor (1 Redis round trip + 1 predict)"]
    http_p50, http_p99 = stats[f"HTTP floor: bare uvicorn app @ {args.rate:.0f} req/s"]
    console.print(f"failed requests: {failures} of {len(latencies)}")
    console.print(
        f"(open-loop client: raw asyncio HTTP/1.1, {args.connections} keep-alive connections taken in turn; "
        "latency from the scheduled send)"
    )
    for name, bound in sorted(server_p99.items()):
        console.print(
            f"server-side p50 / p99 (histogram {name}): <= {server_p50[name]:g} / <= {bound:g} ms", soft_wrap=True
        )
    shares = " / ".join(f"{100 * cpu / elapsed:.0f}%" for cpu in sorted(worker_cpu.values(), reverse=True))
    per_request = 1000 * sum(worker_cpu.values()) / max(1, len(latencies))
    console.print(
        f"server workers' CPU during the open loop: {shares} of a core, {per_request:.2f} ms per request "
        "(a keep-alive connection stays with the worker that accepted it)"
    )
    console.print(f"closed-loop throughput ({args.concurrency} clients): {throughput:.0f} req/s")
    console.print(f"naive / ours (in-process): p50 x{naive_p50 / ours_p50:.1f}, p99 x{naive_p99 / ours_p99:.1f}")
    console.print(f"ours / floor (in-process): p50 x{ours_p50 / floor_p50:.1f}, p99 x{ours_p99 / floor_p99:.1f}")
    console.print(
        f"service / HTTP floor: p50 x{service_p50 / http_p50:.1f}, p99 x{service_p99 / http_p99:.1f} "
        "(BentoML, features, model and reasons on top of what the load generator, the loopback and uvicorn take)"
    )
    console.print(f"service p99 {service_p99:.2f} ms against the 5 ms goal: {'met' if service_p99 <= 5 else 'NOT met'}")
    console.print(f"(machine: {os.cpu_count()} CPUs shared by the load generator, the server's workers and Redis)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

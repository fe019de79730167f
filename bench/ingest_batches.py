"""RTLS ingestion in process, batch by batch: CPU per batch of the worker and of PostgreSQL.

No broker and no subprocess: the bench's load (``bench/ingest.py``'s message pattern: 50
gateways, messages of 100 readings, 50 messages a batch carrying 5,000 different tags) is
built on a virtual clock running at ``--rate`` readings/s, decoded as the worker decodes it,
and stored with ``IngestGatewayMessages`` on a fresh database. For every batch it measures the
worker's CPU (decode and store separately, ``time.process_time``), PostgreSQL's CPU (the
database's backends, from /proc) and the wall time of each store method. CPU times do not
depend much on what else runs on the machine, so this is the tool for choosing between
designs; ``bench/ingest.py`` is the record.

Run from the repository's root: ``python -m bench.ingest_batches --rate 100000``.
"""

import argparse
import asyncio
import functools
import gc
import hashlib
import os
import signal
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from bench.ingest import (
    SERVER_URL,
    fresh_database,
    interrupt,
    load_gateway,
    load_tag,
    register_tags,
)

from securityvision.adapters.clock import SystemClock
from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.ingest import PostgresIngestStore
from securityvision.adapters.postgres.presence import PostgresPresenceStore
from securityvision.application.ingest import Delivery, IngestGatewayMessages
from securityvision.application.presence import PresenceFollower
from securityvision.domain.rtls import GatewayTopic

PREFIX = "bench/gateways"
TICKS = os.sysconf("SC_CLK_TCK")
# Per store method: wall time, PostgreSQL's CPU (the database's backends, ``backends``) and the
# worker's CPU, seconds per call.
timings: dict[str, list[float]] = defaultdict(list)
postgres_cpu: dict[str, list[float]] = defaultdict(list)
worker_cpu: dict[str, list[float]] = defaultdict(list)
backends: list[int] = []


def timed(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, ticks, cpu = time.perf_counter(), backend_ticks(backends), time.process_time()
        try:
            return await method(*args, **kwargs)
        finally:
            timings[name].append(time.perf_counter() - started)
            postgres_cpu[name].append((backend_ticks(backends) - ticks) / TICKS)
            worker_cpu[name].append(time.process_time() - cpu)

    return wrapper


def instrument() -> None:
    for cls in (PostgresIngestStore, PostgresPresenceStore):
        for name, method in list(vars(cls).items()):
            if not name.startswith("_") and asyncio.iscoroutinefunction(method):
                setattr(cls, name, timed(name, method))


def messages(args: argparse.Namespace, start: datetime) -> list[tuple[str, bytes]]:
    """The bench's pattern on a virtual clock: message m is sent at start + m * step."""
    tags = [load_tag(i) for i in range(args.tags)]
    windows = args.tags // args.per_message
    spread = max(1, windows // args.gateways)
    step_us = round(1e6 * args.per_message / args.rate)
    topics = [f"{PREFIX}/{load_gateway(g).replace(':', '')}/beacon" for g in range(args.gateways)]
    # --neighbours K: each window is heard by K neighbouring gateways only (bench/ingest.py's
    # Payloads), so sessions are extended in place instead of every reading opening one.
    heard = [
        [w for w in range(windows) if (g - w) % args.gateways < args.neighbours]
        for g in range(args.gateways)
    ]
    out = []
    total = (args.warm + args.batches) * args.batch_messages
    for m in range(total):
        gateway = m % args.gateways
        if args.neighbours:
            window = heard[gateway][(m // args.gateways) % len(heard[gateway])]
        else:
            window = (m // args.gateways + gateway * spread) % windows
        ts = (start + timedelta(microseconds=m * step_us)).isoformat(timespec="microseconds")
        readings = ",".join(
            f'{{"tag_mac":"{tags[window * args.per_message + j]}",'
            f'"rssi":{-50 - (window * 7 + j) % 40},"ts":"{ts}"}}'
            for j in range(args.per_message)
        )
        out.append((topics[gateway], ('{"readings":[' + readings + "]}").encode()))
    return out


def decode(topic: str, payload: bytes, mid: int) -> Delivery:
    where = parse_gateway_topic(topic, PREFIX)
    assert isinstance(where, GatewayTopic)
    message = decode_gateway_message(where, payload)
    return Delivery(
        message=message,
        received_at=datetime.now(UTC),
        fingerprint=hashlib.blake2b(payload + str(mid).encode(), digest_size=16).digest(),
    )


def backend_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


async def run(args: argparse.Namespace, url: str) -> None:
    register_tags(url, [load_tag(i) for i in range(args.tags)])
    storage = PostgresStorage(url, min_size=1, max_size=4)
    await storage.open()
    gc.freeze()  # as the worker does once started
    use_case = IngestGatewayMessages(
        storage.unit_of_work, SystemClock(), presence=PresenceFollower(), lanes=not args.one_lane
    )
    total_batches = args.warm + args.batches
    virtual_seconds = total_batches * args.batch_messages * args.per_message / args.rate
    start = datetime.now(UTC) - timedelta(seconds=virtual_seconds + 60)
    payloads = messages(args, start)
    with psycopg.connect(url, autocommit=True) as stats:
        rows: list[tuple[float, float, float, float]] = []
        for b in range(total_batches):
            if b == args.warm:
                for measured in (timings, postgres_cpu, worker_cpu):
                    measured.clear()
            chunk = payloads[b * args.batch_messages : (b + 1) * args.batch_messages]
            pids = [
                r[0]
                for r in stats.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                ).fetchall()
            ]
            backends[:] = pids
            c0 = time.process_time()
            deliveries = [decode(t, p, b * 1000 + i) for i, (t, p) in enumerate(chunk)]
            c1 = time.process_time()
            t0, k0 = time.perf_counter(), backend_ticks(pids)
            await use_case.execute(deliveries)
            c2, t1, k1 = time.process_time(), time.perf_counter(), backend_ticks(pids)
            if b >= args.warm:
                rows.append((c1 - c0, c2 - c1, (k1 - k0) / TICKS, t1 - t0))
        readings = args.batch_messages * args.per_message
        decode_ms, store_ms, pg_ms, wall_ms = (
            1000 * statistics.fmean(column) for column in zip(*rows, strict=True)
        )
        print(
            f"rate {args.rate:,.0f}/s (virtual), {args.batches} batches of {readings:,} readings"
            f" after {args.warm} warm-up batches"
        )
        print(
            f"per batch: decode {decode_ms:.1f} ms CPU, store {store_ms:.1f} ms CPU (worker),"
            f" PostgreSQL {pg_ms:.1f} ms CPU, store wall {wall_ms:.1f} ms"
        )
        per_reading = {
            "worker": (decode_ms + store_ms) / readings * 1000,
            "postgres": pg_ms / readings * 1000,
        }
        print("per reading: " + ", ".join(f"{k} {v:.1f} µs" for k, v in per_reading.items()))
        ceiling = readings / max(decode_ms + store_ms, pg_ms) * 1000
        print(f"ceiling with worker and PostgreSQL each on a core: {ceiling:,.0f} readings/s")
        print(f"  {'ms per batch':<22}{'wall':>8}{'postgres':>10}{'worker':>8}")
        for name, values in sorted(timings.items(), key=lambda kv: -sum(kv[1])):
            wall, pg, worker = (
                1000 * sum(m) / args.batches for m in (values, postgres_cpu[name], worker_cpu[name])
            )
            print(f"  {name:<22}{wall:8.1f}{pg:10.1f}{worker:8.1f}")
        counts = stats.execute(
            "SELECT (SELECT count(*) FROM collection_logs), (SELECT count(*) FROM"
            " presence_sessions), (SELECT count(*) FROM tag_positions)"
        ).fetchone()
        print(f"rows: readings, sessions, positions = {counts}")
        await storage.close()  # its backends report their statistics as they exit
        await asyncio.sleep(1)
        for table, updates, hot in stats.execute(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname IN ('presence_sessions', 'tag_positions') ORDER BY relname"
        ).fetchall():
            print(f"{table}: {updates:,} updates, {hot / max(updates, 1):.0%} of them HOT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=SERVER_URL)
    parser.add_argument("--rate", type=float, default=100_000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--tags", type=int, default=20_000)
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--batch-messages", type=int, default=50)
    parser.add_argument("--neighbours", type=int, default=0, help="as bench/ingest.py's")
    parser.add_argument(
        "--one-lane", action="store_true", help="one transaction a batch (no presence lanes)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    instrument()
    with fresh_database(args.database_url) as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()

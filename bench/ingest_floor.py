"""The least CPU PostgreSQL spends on one second of readings at ``--rate``, with this schema.

A floor, not a forecast. For each simulated second the server writes exactly the rows the
SPEC asks of ingest with presence kept current: a ``collection_logs`` row per reading (with its
dedup key), the sessions those readings open or extend and the tags' positions. The readings
arrive as the worker's usual batch does, by binary COPY straight into the table, from a buffer
built before the second is measured (the cheapest way in: cheaper than ``INSERT … SELECT``
from ``generate_series`` with ``ON CONFLICT``); the sessions and positions are written from
``generate_series``. No staging table, no reading back, one statement per table and one
transaction per second (the worker's batches are smaller), so the real worker's PostgreSQL
does strictly more. The CPU is the statement's backend (``/proc``), and separately every
``postgres`` process (the WAL writer, checkpointer and autovacuum included).

Two loads, as ``bench/ingest.py``'s:

- ``site`` (``--neighbours 3``): each tag is heard by 3 gateways; a second's readings extend
  ``min(rate, tags * 3)`` sessions in place (HOT updates: the cheapest a session can be kept);
- ``worst`` (the default there): every reading opens a session of its own.

Run from the repository's root: ``python -m bench.ingest_floor``.
"""

import argparse
import asyncio
import os
import signal
import statistics
import struct
from datetime import UTC, datetime, timedelta

import psutil
import psycopg
from bench.ingest import SERVER_URL, fresh_database, interrupt
from bench.ingest_batches import TICKS, backend_ticks

from securityvision.adapters.postgres.partitions import ensure_daily_partitions

CANDIDATE_BYTES = 24  # a position's candidate as stored (migration 0018)
LOADS = ("site", "worst")

_COPY_READINGS = (
    "COPY collection_logs (device_id, tag_id, rssi, created_at, received_at)"
    " FROM STDIN (FORMAT BINARY)"
)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# A row of _COPY_READINGS in PostgreSQL's binary COPY format: a field count, then each field's
# length and value (int8, int8, int2, and timestamptz as µs since 2000).
_ROW = struct.Struct("!hiqiqihiqiq")


def readings_copy(args: argparse.Namespace, second: int, at: datetime) -> bytes:
    """One second's readings, as the worker's usual batch brings them: a binary COPY."""
    start = (at - _POSTGRES_EPOCH) // timedelta(microseconds=1)
    received = (datetime.now(UTC) - _POSTGRES_EPOCH) // timedelta(microseconds=1)
    pack = _ROW.pack
    rows = [
        pack(
            5,
            8,
            1 + (i + second) % args.gateways,
            8,
            1 + i % args.tags,
            2,
            -60 - i % 30,
            8,
            start + i * 1_000_000 // args.rate,
            8,
            received,
        )
        for i in range(args.rate)
    ]
    return b"PGCOPY\n\xff\r\n\0" + bytes(8) + b"".join(rows) + struct.pack("!h", -1)


_NEW_SESSIONS = """
INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at, samples_count,
    rssi_sum, rssi_max)
SELECT 1 + i %% %(tags)s, 1 + (i + %(second)s) %% %(gateways)s, %(day)s, %(start)s + i * %(step)s,
    %(start)s + i * %(step)s, 1, -60, -60
FROM generate_series(0, %(rate)s - 1) AS i
"""

_EXTEND_SESSIONS = """
UPDATE presence_sessions SET ended_at = %(end)s, samples_count = samples_count + 1,
    rssi_sum = rssi_sum - 60, rssi_max = greatest(rssi_max, -60)
WHERE id <= %(extended)s
"""

_POSITIONS = """
INSERT INTO tag_positions (tag_id, device_id, since, last_seen_at, confidence, candidates)
SELECT i, 1 + i %% %(gateways)s, %(start)s, %(end)s, 0.5, %(candidates)s
FROM generate_series(1, least(%(rate)s, %(tags)s)) AS i
ON CONFLICT (tag_id) DO UPDATE SET device_id = excluded.device_id, since = excluded.since,
    last_seen_at = excluded.last_seen_at, confidence = excluded.confidence,
    candidates = excluded.candidates
"""


def postgres_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def measure(args: argparse.Namespace, url: str, load: str) -> dict[str, list[tuple[float, float]]]:
    """Per step, (backend CPU, all postgres CPU) seconds for each measured second."""
    neighbours = 3 if load == "site" else 8
    start = datetime.now(UTC).replace(minute=10, second=0, microsecond=0) - timedelta(hours=2)
    step = timedelta(seconds=1) / args.rate
    pairs = args.tags * 3
    with psycopg.connect(url) as conn:
        ensure_partition(url, start)
        if args.bare:
            # Only the keys: what no design storing these rows can do without.
            for (index,) in conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indrelid"
                " WHERE c.relname IN ('collection_logs', 'presence_sessions', 'tag_positions')"
                " AND NOT i.indisprimary"
            ).fetchall():
                conn.execute(f"DROP INDEX {index}")
            conn.commit()
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        backend = [row[0]]
        if load == "site":
            # Every (tag, gateway) pair's session exists: each second only extends them.
            conn.execute(
                "INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at,"
                " samples_count, rssi_sum, rssi_max)"
                " SELECT 1 + i %% %(tags)s, 1 + i / %(tags)s, %(day)s, %(start)s, %(start)s,"
                " 1, -60, -60 FROM generate_series(0, %(pairs)s - 1) AS i",
                {"tags": args.tags, "day": start.date(), "start": start, "pairs": pairs},
            )
            conn.commit()
        steps = {
            "readings": _COPY_READINGS,
            "sessions": _EXTEND_SESSIONS if load == "site" else _NEW_SESSIONS,
            "positions": _POSITIONS,
        }
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
        for second in range(args.warm + args.seconds):
            at = start + timedelta(seconds=second)
            params: dict[str, object] = {
                "second": second,
                "gateways": args.gateways,
                "tags": args.tags,
                "rate": args.rate,
                "start": at,
                "end": at + timedelta(seconds=1),
                "step": step,
                "day": at.date(),
                "extended": min(args.rate, pairs),
                "candidates": bytes(CANDIDATE_BYTES * neighbours),
            }
            readings = readings_copy(args, second, at)
            for name, statement in steps.items():
                everyone = postgres_pids()
                before = backend_ticks(backend), backend_ticks(everyone)
                if statement is _COPY_READINGS:
                    with conn.cursor() as cur, cur.copy(statement) as copy:
                        copy.write(readings)
                else:
                    conn.execute(statement, params)
                conn.commit()
                after = backend_ticks(backend), backend_ticks(everyone)
                if second >= args.warm:
                    figures[name].append(
                        ((after[0] - before[0]) / TICKS, (after[1] - before[1]) / TICKS)
                    )
    return figures


def ensure_partition(url: str, at: datetime) -> None:
    async def create() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await ensure_daily_partitions(conn, {at.date(), (at + timedelta(days=1)).date()})

    asyncio.run(create())


def report(
    args: argparse.Namespace, load: str, figures: dict[str, list[tuple[float, float]]]
) -> None:
    print(f"\n{load}: {args.rate:,} readings/s, {args.tags:,} tags, {args.seconds} s measured")
    print(f"  {'per second of load':<20}{'backend':>10}{'all postgres':>14}{'µs/reading':>12}")
    totals = [0.0, 0.0]
    for name, values in figures.items():
        backend = statistics.fmean(v[0] for v in values)
        everyone = statistics.fmean(v[1] for v in values)
        totals[0] += backend
        totals[1] += everyone
        print(
            f"  {name:<20}{100 * backend:9.0f}%{100 * everyone:13.0f}%"
            f"{1e6 * backend / args.rate:12.1f}"
        )
    print(
        f"  {'total':<20}{100 * totals[0]:9.0f}%{100 * totals[1]:13.0f}%"
        f"{1e6 * totals[0] / args.rate:12.1f}   (% of one core; the machine has {os.cpu_count()})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=SERVER_URL)
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=20_000)
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--warm", type=int, default=3, help="seconds of load before measuring")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load measured")
    parser.add_argument("--load", choices=LOADS, action="append")
    parser.add_argument(
        "--bare", action="store_true", help="drop every index but the primary keys first"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    for load in args.load or LOADS:
        with fresh_database(args.database_url) as url:
            report(args, load, measure(args, url, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

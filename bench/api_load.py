"""The API under the front end's polling (CLIENTS.md §13), N operator consoles at a time.

- **Data**: bench/presence.py's loader (``--readings`` readings of ``--tags`` tags, sessions,
  positions, rollup), plus ``--cameras`` cameras with ``--events`` camera events and
  ``--messages`` incident messages over ``--incidents`` incidents (a fifth of them open,
  most of them visible to every operator), in a fresh ``sv_bench_<hex>`` database dropped on
  exit.
- **Server**: ``python -m securityvision serve --workers W`` as a subprocess (its own empty
  directory: no ``.env``), with a strong random JWT key; MQTT publishing off. While it runs,
  a feeder plays the ingest worker's part for the polled data: every second the tags
  present at the load's end and the gateways are marked as heard now, so positions and
  statuses stay live.
- **Consoles**: each logs in once (``POST /auth/login``, a real token) and runs the front
  end's loops at once, as a console with the Dashboard and the Incidents page open (an
  OPERATOR account made by ``securityvision create-user``):
  ``/positions/by-device?floor_plan_id&only_active_people=true`` 3 s after each answer;
  ``/devices/status?only_gateways=true`` every 5 s; ``/devices/cameras/{id}/events?limit=30``
  for each camera one after another, again 5 s after the last; ``/incidents/my?only_open=true
  &limit=20`` every 5 s; ``/incidents/my?only_open=true&limit=200`` every 6 s;
  ``/incidents/{id}/messages?limit=300`` once, then ``?after_id={max}&limit=200`` every 1.5 s.
  Every request sends ``Content-Type: application/json`` and the bearer token, as the front
  end does. Consoles start spread over the first seconds, then everything is measured for
  ``--duration`` seconds.
- **Figures** per N: requests, requests/s, errors (non-2xx or no answer within 10 s), p50 and
  p99 latency overall and per route, the machine's busy share (/proc/stat). Target: N = 50
  at p99 < 100 ms with 0 errors.

Run: ``python bench/api_load.py`` (bench/README.md has the figures);
``--readings 200000 --consoles 2 --duration 5`` for a quick run.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from subprocess import DEVNULL, PIPE, STDOUT, TimeoutExpired
from typing import Any

import httpx
import psutil
import psycopg

if __package__:
    from bench import presence
else:  # run as a script: bench/ is on sys.path
    import presence

TARGET_CONSOLES = 50
TARGET_P99_MS = 100.0
TIMEOUT_S = 10.0

# The Dashboard's and the Incidents page's loops (CLIENTS.md §13).
POSITIONS_AFTER_S = 3.0
STATUS_EVERY_S = 5.0
CAMERAS_AFTER_S = 5.0
MY_OPEN_EVERY_S = 5.0
INCIDENTS_EVERY_S = 6.0
MESSAGES_EVERY_S = 1.5


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --- data -----------------------------------------------------------------------------------


@dataclass
class Register:
    floor_plan_ids: list[int]
    camera_ids: list[int]
    incident_ids: list[int]
    messages: int


def seed_incidents(
    url: str, *, cameras: int, events: int, incidents: int, messages: int, seed: int
) -> Register:
    """Cameras, their events, a support group, incidents and their messages (set-based)."""
    rng = random.Random(seed)
    with psycopg.connect(url) as conn:
        camera_ids = [
            row[0]
            for row in conn.execute(
                "INSERT INTO devices (name, type, code, mac_address, ip_address, last_seen_at)"
                " SELECT 'Camera ' || i, 'CAMERA', 'CAM' || i,"
                "   'CC:CC:00:00:00:' || lpad(to_hex(i), 2, '0'), '10.0.0.' || i, now()"
                " FROM generate_series(1, %s) i RETURNING id",
                [cameras],
            ).fetchall()
        ]
        conn.execute(
            "INSERT INTO device_events (device_id, topic, analytic_type, event_id, payload,"
            "  occurred_at)"
            " SELECT c.id, 'rtls/cameras/b/f/' || c.id || '/events',"
            "   (ARRAY['faceCapture', 'faceRecognized', 'intrusion'])[1 + i %% 3],"
            "   'E' || c.id || '-' || i,"
            "   jsonb_build_object('AnalyticType', 'faceCapture', 'CameraName', 'Camera',"
            "     'Meta', jsonb_build_object('eventDescription', 'seen', 'facesCount', 1)),"
            "   now() - make_interval(secs => i * 37)"
            " FROM unnest(%s::bigint[]) c(id), generate_series(1, %s) i",
            [camera_ids, max(1, events // max(1, cameras))],
        )
        (group_id,) = presence._one(
            conn.execute(
                "INSERT INTO support_groups (name, default_sla_minutes) VALUES ('Operators', 30)"
                " RETURNING id"
            )
        )
        statuses = ["OPEN", "IN_PROGRESS", "RESOLVED", "RESOLVED", "FALSE_POSITIVE"]
        rows = []
        for i in range(incidents):
            status = statuses[i % len(statuses)]
            rows.append(
                (
                    camera_ids[rng.randrange(len(camera_ids))],
                    status,
                    f"Face captured #{i}",
                    group_id if i % 3 == 0 else None,
                    None if status in ("OPEN", "IN_PROGRESS") else "now",
                )
            )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO incidents (device_id, kind, status, title, assigned_group_id,"
                " closed_at, sla_minutes, due_at)"
                " VALUES (%s, 'CAMERA_EVENT', %s, %s, %s, %s::timestamptz, 30,"
                "   now() + interval '30 minutes')",
                rows,
            )
        incident_ids = [
            row[0] for row in conn.execute("SELECT id FROM incidents ORDER BY id").fetchall()
        ]
        conn.execute(
            "INSERT INTO incident_messages (incident_id, message_type, author_name, content,"
            "  created_at)"
            " SELECT ids[1 + (i %% array_length(ids, 1))],"
            "   (ARRAY['SYSTEM', 'COMMENT', 'COMMENT'])[1 + i %% 3], 'Operator',"
            "   'Message ' || i || ': ' || repeat('x', 40), now() - make_interval(secs => i)"
            " FROM (SELECT %s::bigint[] AS ids) x, generate_series(1, %s) i",
            [incident_ids, messages],
        )
        plans = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT floor_plan_id FROM devices WHERE floor_plan_id IS NOT NULL"
                " ORDER BY 1"
            ).fetchall()
        ]
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Register(plans, camera_ids, incident_ids, messages)


async def feed(url: str, end: datetime, stop: asyncio.Event) -> None:
    """The worker's part: tags present at the load's end, and the gateways, heard now."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT tag_id FROM tag_positions WHERE last_seen_at >= %s - interval '15 seconds'",
            [end],
        )
        present = [row[0] for row in await cursor.fetchall()]
        while not stop.is_set():
            await conn.execute(
                "UPDATE tag_positions SET last_seen_at = now() WHERE tag_id = ANY(%s)", [present]
            )
            await conn.execute("UPDATE devices SET last_seen_at = now() WHERE type = 'BLE_GATEWAY'")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_FOREIGN = ("RTLS_", "MQTT_", "DATABASE_", "SUPERADMIN_", "SVPOS_", "JWT_", "LOG_", "CAMBUS_")


def create_operator(url: str, email: str, password: str) -> None:
    """An OPERATOR account, through ``securityvision create-user`` (the password on stdin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    env["DATABASE_URL"] = url
    with tempfile.TemporaryDirectory(prefix="sv-api-load-") as workdir:
        with psutil.Popen(
            [
                sys.executable,
                "-m",
                "securityvision",
                "create-user",
                "--email",
                email,
                "--role",
                "OPERATOR",
                "--password-stdin",
            ],
            cwd=workdir,
            env=env,
            stdin=PIPE,
            stdout=PIPE,
            stderr=STDOUT,
        ) as process:
            output = process.communicate(password.encode(), timeout=120)[0]
        if process.returncode != 0:
            raise presence.BenchError(f"create-user failed: {output.decode(errors='replace')}")


@contextlib.contextmanager
def running_server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """``securityvision serve`` on a free port; its base URL and pid."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="sv-api-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    env |= {
        "DATABASE_URL": url,
        "SVPOS_SECRET_KEY": secrets.token_urlsafe(48),
        "RTLS_MQTT_ENABLED": "false",
        "CAMBUS_MQTT_ENABLED": "false",
        "ACCESS_CONTROL_MQTT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = psutil.Popen(
            [
                sys.executable,
                "-m",
                "securityvision",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=workdir,
            env=env,
            stdin=DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise presence.BenchError(f"serve exited:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise presence.BenchError(f"serve did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


class CpuOf:
    """CPU seconds used by the server (its process tree) and by the PostgreSQL backends of
    the database: what a request costs whatever else the machine is doing."""

    def __init__(self, server_pid: int, url: str) -> None:
        self._server = psutil.Process(server_pid)
        self._url = url

    def read(self) -> tuple[float, float]:
        server = 0.0
        for process in [self._server, *self._server.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                server += times.user + times.system
        database = 0.0
        with psycopg.connect(self._url, autocommit=True) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            ).fetchall()
        for (pid,) in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                database += times.user + times.system
        return server, database


# --- the consoles ---------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    measuring: bool = False


class Console:
    def __init__(
        self, base: str, token: str, register: Register, tally: Tally, rng: random.Random
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=f"{base}/api/v1",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=TIMEOUT_S,
            limits=httpx.Limits(max_connections=6, max_keepalive_connections=6),
        )
        self.register = register
        self.tally = tally
        self.plan = rng.choice(register.floor_plan_ids)
        self.incident = rng.choice(
            register.incident_ids[-max(1, len(register.incident_ids) // 5) :]
        )

    async def get(self, route: str, path: str, params: dict[str, Any] | None = None) -> Any:
        began = time.perf_counter()
        try:
            response = await self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            self._count(route, time.perf_counter() - began, f"{type(exc).__name__}")
            return None
        failed = None if response.is_success else f"{response.status_code} {response.text[:200]}"
        self._count(route, time.perf_counter() - began, failed)
        return None if failed else response.json()

    def _count(self, route: str, seconds: float, error: str | None) -> None:
        if not self.tally.measuring:
            return
        self.tally.latencies[route].append(seconds * 1000)
        if error:
            self.tally.errors[route] += 1
            if len(self.tally.samples) < 5:
                self.tally.samples.append(f"{route}: {error}")

    async def run(self, stop: asyncio.Event) -> None:
        loops = [
            self._after(
                stop,
                POSITIONS_AFTER_S,
                "positions/by-device",
                "/positions/by-device",
                {"floor_plan_id": self.plan, "only_active_people": "true"},
            ),
            self._every(
                stop,
                STATUS_EVERY_S,
                "devices/status",
                "/devices/status",
                {"only_gateways": "true"},
            ),
            self._cameras(stop),
            self._every(
                stop,
                MY_OPEN_EVERY_S,
                "incidents/my?limit=20",
                "/incidents/my",
                {"only_open": "true", "limit": 20},
            ),
            self._every(
                stop,
                INCIDENTS_EVERY_S,
                "incidents/my?limit=200",
                "/incidents/my",
                {"only_open": "true", "limit": 200},
            ),
            self._messages(stop),
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            await self.client.aclose()

    async def _after(
        self, stop: asyncio.Event, pause: float, route: str, path: str, params: dict[str, Any]
    ) -> None:
        while not stop.is_set():
            await self.get(route, path, params)
            await _sleep(stop, pause)

    async def _every(
        self, stop: asyncio.Event, period: float, route: str, path: str, params: dict[str, Any]
    ) -> None:
        next_at = time.monotonic()
        while not stop.is_set():
            await self.get(route, path, params)
            next_at += period
            await _sleep(stop, max(0.0, next_at - time.monotonic()))

    async def _cameras(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for camera in self.register.camera_ids:
                if stop.is_set():
                    return
                await self.get(
                    "cameras/{id}/events", f"/devices/cameras/{camera}/events", {"limit": 30}
                )
            await _sleep(stop, CAMERAS_AFTER_S)

    async def _messages(self, stop: asyncio.Event) -> None:
        path = f"/incidents/{self.incident}/messages"
        first = await self.get("incidents/{id}/messages", path, {"limit": 300})
        last = max((m["id"] for m in first or []), default=None)
        next_at = time.monotonic()
        while not stop.is_set():
            next_at += MESSAGES_EVERY_S
            await _sleep(stop, max(0.0, next_at - time.monotonic()))
            params: dict[str, Any] = {"limit": 200}
            if last is not None:
                params["after_id"] = last
            new = await self.get("incidents/{id}/messages?after_id", path, params)
            last = max((m["id"] for m in new or []), default=last)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def login(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=TIMEOUT_S) as client:
        response = await client.post("/auth/login", json={"email": email, "password": password})
        response.raise_for_status()
        return str(response.json()["access_token"])


@dataclass
class Step:
    consoles: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    busy_percent: float
    server_cpu_ms: float  # per request
    database_cpu_ms: float  # per request (this database's backends)
    routes: dict[str, dict[str, float]]
    error_samples: list[str]

    @property
    def passed(self) -> bool:
        return self.p99_ms < TARGET_P99_MS and self.errors == 0


async def step(
    base: str,
    account: tuple[str, str],
    register: Register,
    consoles: int,
    *,
    duration: float,
    seed: int,
    cpu: CpuOf,
) -> Step:
    rng = random.Random(seed + consoles)
    tally = Tally()
    tokens = [await login(base, *account) for _ in range(consoles)]
    stop = asyncio.Event()
    tasks = []
    for token in tokens:
        console = Console(base, token, register, tally, rng)
        tasks.append(asyncio.create_task(console.run(stop)))
        await asyncio.sleep(min(3.0, 0.5 * consoles) / consoles)  # spread the starts
    await asyncio.sleep(2.0)  # every loop under way
    server_before, database_before = cpu.read()
    tally.measuring = True
    meter = presence.BusyMeter()
    began = time.monotonic()
    await asyncio.sleep(duration)
    tally.measuring = False
    seconds = time.monotonic() - began
    busy = meter.stop()
    server_after, database_after = cpu.read()
    stop.set()
    await asyncio.gather(*tasks)
    every = [ms for values in tally.latencies.values() for ms in values]
    if not every:
        raise presence.BenchError("no request was answered")
    # (requests cut by the end of the step are not counted; their share is small)
    return Step(
        consoles=consoles,
        seconds=seconds,
        requests=len(every),
        errors=sum(tally.errors.values()),
        p50_ms=presence.quantile(every, 0.5),
        p99_ms=presence.quantile(every, 0.99),
        busy_percent=busy,
        server_cpu_ms=1000 * (server_after - server_before) / len(every),
        database_cpu_ms=1000 * (database_after - database_before) / len(every),
        routes={
            route: {
                "requests": len(values),
                "errors": tally.errors.get(route, 0),
                "p50_ms": presence.quantile(values, 0.5),
                "p99_ms": presence.quantile(values, 0.99),
            }
            for route, values in sorted(tally.latencies.items())
        },
        error_samples=tally.samples,
    )


async def load_steps(
    server: tuple[str, int],
    url: str,
    end: datetime,
    register: Register,
    account: tuple[str, str],
    *,
    steps: Sequence[int],
    duration: float,
    seed: int,
    say: Any,
) -> list[Step]:
    base, pid = server
    cpu = CpuOf(pid, url)
    stop = asyncio.Event()
    feeder = asyncio.create_task(feed(url, end, stop))
    results = []
    try:
        for consoles in steps:
            result = await step(
                base, account, register, consoles, duration=duration, seed=seed, cpu=cpu
            )
            say(
                f"  N={consoles}: {result.requests / result.seconds:.0f} req/s,"
                f" p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms,"
                f" {result.errors} errors, machine busy {result.busy_percent:.0f} %,"
                f" CPU per request: server {result.server_cpu_ms:.1f} ms,"
                f" PostgreSQL {result.database_cpu_ms:.1f} ms"
            )
            results.append(result)
    finally:
        stop.set()
        await feeder
    return results


def report(steps: Sequence[Step]) -> str:
    lines = [
        "| consoles | requests/s | p50 | p99 | errors | machine busy | CPU/request: server"
        " + PostgreSQL | target |",
        "|---:|---:|---:|---:|---:|---:|---:|:--|",
    ]
    for s in steps:
        verdict = ("PASS" if s.passed else "FAIL") if s.consoles == TARGET_CONSOLES else "-"
        lines.append(
            f"| {s.consoles} | {s.requests / s.seconds:,.0f} | {s.p50_ms:.1f} ms"
            f" | {s.p99_ms:.1f} ms | {s.errors} | {s.busy_percent:.0f} %"
            f" | {s.server_cpu_ms:.1f} + {s.database_cpu_ms:.1f} ms | {verdict} |"
        )
    for s in steps:
        lines += [
            "",
            f"N = {s.consoles}, per route:",
            "",
            "| route | requests | p50 | p99 | errors |",
        ]
        lines.append("|---|---:|---:|---:|---:|")
        for route, r in s.routes.items():
            lines.append(
                f"| {route} | {r['requests']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms"
                f" | {r['errors']:.0f} |"
            )
        lines += [f"error: {sample}" for sample in s.error_samples]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--database-url", default=presence.SERVER_URL)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--days", type=float, default=18.0)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--incidents", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--consoles", default="10,50,100", help="N per step, comma-separated")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per N")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--reuse", metavar="URL", help="a database kept by presence.py --keep")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    info = presence.machine()
    account = (f"operator-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(24))
    steps = [int(n) for n in args.consoles.split(",") if n]
    with contextlib.ExitStack() as stack:
        if args.reuse:
            data = presence.stored_dataset(args.reuse)
        else:
            url = stack.enter_context(presence.fresh_database(args.database_url, keep=args.keep))
            plan = presence.Plan(readings=args.readings, tags=args.tags, days=args.days)
            data = presence.load_dataset(url, plan, original=False, progress=say)
        with psycopg.connect(data.url) as conn:
            seeded = conn.execute("SELECT to_regclass('bench_register') IS NOT NULL").fetchone()
        if seeded and seeded[0]:
            with psycopg.connect(data.url) as conn:
                doc = presence._one(conn.execute("SELECT doc FROM bench_register"))[0]
            register = Register(**doc)
        else:
            register = seed_incidents(
                data.url,
                cameras=args.cameras,
                events=args.events,
                incidents=args.incidents,
                messages=args.messages,
                seed=args.seed,
            )
            with psycopg.connect(data.url) as conn:
                conn.execute("CREATE TABLE bench_register (doc jsonb NOT NULL)")
                conn.execute(
                    "INSERT INTO bench_register VALUES (%s::jsonb)", [json.dumps(asdict(register))]
                )
        say(
            f"data: {data.readings:,} readings, {len(register.camera_ids)} cameras,"
            f" {len(register.incident_ids):,} incidents, {register.messages:,} messages"
        )
        create_operator(data.url, *account)
        server = stack.enter_context(running_server(data.url, args.workers))
        results = asyncio.run(
            load_steps(
                server,
                data.url,
                data.end,
                register,
                account,
                steps=steps,
                duration=args.duration,
                seed=args.seed,
                say=say,
            )
        )
    print(
        f"{info['date']}, {info['cpus']} CPUs ({info['cpu_model']}), loadavg {info['loadavg']},"
        f" serve --workers {args.workers}"
    )
    print(report(results))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "args": vars(args), "steps": [asdict(s) for s in results]},
                default=str,
                indent=2,
            )
        )
    target = [s for s in results if s.consoles == TARGET_CONSOLES]
    return 0 if all(s.passed for s in target) else 1


if __name__ == "__main__":
    sys.exit(main())

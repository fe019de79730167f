"""Chaos: under a steady load of readings and camera events, the worker is killed with SIGKILL,
the broker restarted, PostgreSQL restarted, and the database connection cut; afterwards every
reading and event the broker acknowledged is stored exactly once, the sessions equal a
from-scratch computation, and the worker came back by itself (only the SIGKILL needs a
supervisor, played here by the test).

Everything runs against services of the test's own — a Mosquitto with persistence, a
PostgreSQL made with ``initdb``, an asyncio TCP proxy between the worker and PostgreSQL — never
against the machine's shared ones. The CI run uses the short profile; ``nox -s chaos`` sets
``SECURITYVISION_CHAOS=full`` (30 s cut, longer outages, more load) and prints the figures
recorded in bench/README.md.
"""

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from tests.support.load import SteadyLoad
from tests.support.services import (
    PrivateMosquitto,
    PrivatePostgres,
    TcpProxy,
    mosquitto_binary,
    postgres_bindir,
)
from tests.support.workers import (
    register_world,
    start_worker,
    stop_worker,
    stored_events,
    stored_readings,
    verify,
    worker_environment,
)

MOSQUITTO = mosquitto_binary()
POSTGRES = postgres_bindir()

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.mqtt,
    pytest.mark.skipif(MOSQUITTO is None, reason="needs the mosquitto binary (a private broker)"),
    pytest.mark.skipif(POSTGRES is None, reason="needs initdb and pg_ctl (a private PostgreSQL)"),
]


@dataclass(frozen=True)
class Profile:
    name: str
    rate: float  # messages a second (8 readings each; one in ten a camera event)
    steady: float  # seconds of plain load before and between faults
    worker_down: float
    broker_down: float
    postgres_down: float
    cut: float
    recovery_limit: float


SHORT = Profile("short", 40, 3, 1, 2, 2, 5, 90)
FULL = Profile("full", 120, 10, 5, 10, 10, 30, 180)
PROFILE = FULL if os.environ.get("SECURITYVISION_CHAOS") == "full" else SHORT


@dataclass
class World:
    postgres: PrivatePostgres
    broker: PrivateMosquitto
    proxy: TcpProxy
    database_url: str
    env: dict[str, str]
    log: Path
    load: SteadyLoad
    workers: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start_worker(self) -> asyncio.subprocess.Process:
        """A worker the fixture kills at the end if the test did not stop it (a failed
        assertion must not leave it retrying against removed servers)."""
        worker = await start_worker(self.env, self.log)
        self.workers.append(worker)
        return worker


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    assert MOSQUITTO is not None
    assert POSTGRES is not None
    postgres = PrivatePostgres(POSTGRES)
    broker = PrivateMosquitto(MOSQUITTO)
    proxy: TcpProxy | None = None
    load: SteadyLoad | None = None
    world: World | None = None
    try:
        await asyncio.to_thread(postgres.initialize)
        await asyncio.to_thread(postgres.start)
        database_url = postgres.create_database("chaos")
        await apply_migrations(database_url)
        await register_world(database_url)
        await asyncio.to_thread(broker.start)
        proxy = TcpProxy(postgres.port)
        await proxy.start()
        run = uuid.uuid4().hex[:10]
        prefix = f"chaos-{run}/gateways"
        camera_base = f"chaos-{run}/cameras"
        env = worker_environment(
            database_url.replace(f":{postgres.port}/", f":{proxy.port}/"),
            broker.port,
            prefix=prefix,
            camera_base=camera_base,
            client_id=f"chaos-worker-{run}",
            media_root=tmp_path / "media",
        )
        load = SteadyLoad(
            "127.0.0.1", broker.port, prefix=prefix, camera_base=camera_base, rate=PROFILE.rate
        )
        world = World(postgres, broker, proxy, database_url, env, tmp_path / "worker.log", load)
        yield world
    finally:
        for worker in world.workers if world is not None else []:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        if load is not None:
            load.close()
        if proxy is not None:
            await proxy.close()
        await asyncio.to_thread(broker.remove)
        await asyncio.to_thread(postgres.remove)


def tail(log: Path, size: int = 4000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else ""


async def eventually(
    condition: Callable[[], Awaitable[bool]], seconds: float, what: str, log: Path
) -> float:
    """Seconds until ``condition`` holds; fails with the worker's log after ``seconds``."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}\n{tail(log)}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_kill_restart_and_cut_lose_nothing_and_double_nothing(world: World) -> None:
    figures: dict[str, float] = {}
    load = world.load
    worker = await world.start_worker()

    async def subscribed() -> bool:
        return tail(world.log, 100_000).count("connected to") >= 2

    await eventually(subscribed, 30, "the worker to subscribe", world.log)
    load.start()
    started = time.monotonic()

    async def caught_up_with(target: int) -> float:
        async def done() -> bool:
            return await stored_readings(world.database_url) >= target

        return await eventually(done, PROFILE.recovery_limit, f"{target} readings", world.log)

    async def steady() -> None:
        await asyncio.sleep(PROFILE.steady)

    await steady()
    assert await stored_readings(world.database_url) > 0, tail(world.log)

    # 1. kill -9 mid-stream; a supervisor starts it again.
    worker.send_signal(signal.SIGKILL)
    await worker.wait()
    await asyncio.sleep(PROFILE.worker_down)
    worker = await world.start_worker()
    figures["sigkill_recovery_s"] = await caught_up_with(load.acknowledged_readings())
    await steady()

    # 2. The broker restarts (its queues and the worker's session are persisted).
    async def publisher_back() -> bool:
        return load.unacknowledged() == 0

    load.timeless.clear()
    await eventually(publisher_back, 60, "timeless messages acknowledged", world.log)
    await asyncio.to_thread(world.broker.restart, PROFILE.broker_down)

    # From the broker's return until what was published while it was away is stored too.
    back = time.monotonic()
    await eventually(publisher_back, 60, "the publisher to resend", world.log)
    await caught_up_with(load.acknowledged_readings())
    figures["broker_recovery_s"] = time.monotonic() - back
    load.timeless.set()
    await steady()

    # 3. PostgreSQL restarts.
    await asyncio.to_thread(world.postgres.restart, PROFILE.postgres_down)
    figures["postgres_recovery_s"] = await caught_up_with(load.acknowledged_readings())
    await steady()

    # 4. The connection to PostgreSQL is cut, and new ones refused, for a while.
    connections = world.proxy.connections
    await world.proxy.cut()
    await asyncio.sleep(PROFILE.cut)
    await world.proxy.restore()
    figures["cut_recovery_s"] = await caught_up_with(load.acknowledged_readings())
    assert world.proxy.connections > connections, "the worker never came back through the proxy"
    await steady()

    load.stop()
    await eventually(publisher_back, 60, "every message acknowledged", world.log)
    figures["load_seconds"] = time.monotonic() - started
    await caught_up_with(load.acknowledged_readings())
    events = sum(1 for sent in load.acknowledged() if sent.event_id)

    async def events_stored() -> bool:
        return await stored_events(world.database_url) >= events

    figures["events_catch_up_s"] = await eventually(
        events_stored, PROFILE.recovery_limit, f"{events} camera events", world.log
    )
    await asyncio.sleep(2.0)  # anything still arriving now would be a duplicate
    verdict = await verify(world.database_url, load)

    assert worker.returncode is None, "the worker died instead of recovering"
    assert await stop_worker(worker) == 0
    report = {"profile": PROFILE.name, "rate_msgs_s": PROFILE.rate, "cut_s": PROFILE.cut}
    report |= {k: round(v, 2) for k, v in figures.items()} | asdict(verdict)
    print(f"\nchaos figures: {json.dumps(report)}")
    assert verdict.sent_events > 0
    assert verdict.sessions > 0
    assert verdict.missing_readings == 0, report
    assert verdict.missing_events == 0, report
    assert verdict.stored_events == verdict.sent_events, report
    assert verdict.sessions_match, report
    assert verdict.extra_readings == verdict.extra_unacknowledged + verdict.extra_timeless, report
    # Readings without a timestamp of a message redelivered after its acknowledgement was lost
    # (SIGKILL, broker restart) take their first receipt's time: never stored twice.
    assert verdict.extra_timeless == 0, report

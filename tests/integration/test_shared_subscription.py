"""Two workers with ``MQTT_SHARED_GROUP`` on Mosquitto 2 split the load: each takes a share,
nothing is lost, nothing is counted twice (readings, camera events, sessions)."""

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from tests.support.databases import temporary_database
from tests.support.load import SteadyLoad
from tests.support.services import PrivateMosquitto, free_port, mosquitto_binary
from tests.support.workers import (
    register_world,
    start_worker,
    stop_worker,
    stored_readings,
    verify,
    worker_environment,
)

MOSQUITTO = mosquitto_binary()

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.mqtt,
    pytest.mark.skipif(MOSQUITTO is None, reason="needs the mosquitto binary (Mosquitto 2)"),
]

LOAD_SECONDS = 6.0


@pytest.fixture
async def broker() -> AsyncIterator[PrivateMosquitto]:
    assert MOSQUITTO is not None
    broker = PrivateMosquitto(MOSQUITTO)
    await asyncio.to_thread(broker.start)
    try:
        yield broker
    finally:
        await asyncio.to_thread(broker.remove)


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        await register_world(url)
        yield url


def counter(metrics: str, name: str, label: str = "") -> float:
    pattern = rf"^{name}{re.escape(label)} (\S+)$"
    return sum(float(m) for m in re.findall(pattern, metrics, flags=re.MULTILINE))


async def test_two_workers_split_the_load_without_loss_or_double_counting(
    broker: PrivateMosquitto, migrated: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    prefix, camera_base = f"shared-{run}/gateways", f"shared-{run}/cameras"
    ports = [free_port(), free_port()]
    workers = []
    for index, port in enumerate(ports):
        env = worker_environment(
            migrated,
            broker.port,
            prefix=prefix,
            camera_base=camera_base,
            client_id=f"shared-{run}-{index}",
            media_root=tmp_path / "media",
            extra={"MQTT_SHARED_GROUP": f"ingest-{run}", "WORKER_METRICS_PORT": str(port)},
        )
        workers.append(await start_worker(env, tmp_path / f"worker-{index}.log"))
    logs = [tmp_path / f"worker-{index}.log" for index in range(2)]
    load = SteadyLoad("127.0.0.1", broker.port, prefix=prefix, camera_base=camera_base, rate=60)
    try:
        async with asyncio.timeout(90):
            while not all(
                log.exists() and log.read_text().count("connected to") >= 2 for log in logs
            ):
                await asyncio.sleep(0.2)
        load.start()
        await asyncio.sleep(LOAD_SECONDS)
        load.stop()
        deadline = time.monotonic() + 60
        while load.unacknowledged() or (
            await stored_readings(migrated) < load.acknowledged_readings()
        ):
            assert time.monotonic() < deadline, "the workers did not catch up"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # anything arriving now would be counted twice
        verdict = await verify(migrated, load)
        scraped = []
        async with httpx.AsyncClient(timeout=10) as client:
            for port in ports:
                scraped.append((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
    finally:
        load.close()
        codes = [await stop_worker(worker) for worker in workers]
    assert verdict.exact, verdict
    assert verdict.sent_events > 0
    assert codes == [0, 0]
    rtls = [
        counter(text, "securityvision_mqtt_messages_total", '{stream="rtls"}') for text in scraped
    ]
    cambus = [
        counter(text, "securityvision_mqtt_messages_total", '{stream="cambus"}') for text in scraped
    ]
    duplicates = [counter(text, "securityvision_readings_duplicate_total") for text in scraped]
    # Each worker took a real share, and together they handled each message once.
    assert all(share > 0.1 * sum(rtls) for share in rtls), rtls
    assert sum(rtls) + sum(cambus) == load.published
    assert duplicates == [0, 0]

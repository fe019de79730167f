"""SIGTERM to the worker: what the broker already handed it is stored and acknowledged before
it disconnects, and it exits 0.

The messages wait in the broker for the worker's persistent session, and SIGTERM comes the
moment it is subscribed again: it has just been handed a full window of them, far more than
it has stored yet."""

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from tests.conftest import MQTT_URL_VARIABLE, MqttAddress
from tests.support.databases import temporary_database
from tests.support.load import CAMERA, TAGS
from tests.support.rtls import publish, query, wait_for
from tests.support.workers import (
    register_world,
    start_worker,
    stop_worker,
    worker_environment,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.mqtt,
    pytest.mark.skipif(
        not os.environ.get(MQTT_URL_VARIABLE),
        reason="needs Mosquitto: the embedded broker has no persistent redelivery to compare",
    ),
]

MESSAGES = 1000
PER_MESSAGE = 10
EVENTS = 20


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        await register_world(url)
        yield url


async def test_sigterm_stores_what_was_published_before_it_and_exits_0(
    migrated: str, mqtt_address: MqttAddress, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    prefix, camera_base = f"sv-test-{run}/gateways", f"sv-test-{run}/cameras"
    env = worker_environment(
        migrated,
        mqtt_address.port,
        prefix=prefix,
        camera_base=camera_base,
        client_id=f"shutdown-{run}",
        media_root=tmp_path / "media",
    ) | {"RTLS_MQTT_HOST": mqtt_address.host}
    log = tmp_path / "worker.log"
    worker = await start_worker(env, log)

    async def subscribed(times: int) -> bool:
        return log.read_text().count("connected to") >= 2 * times  # gateways and cam-bus

    start = datetime.now(UTC) - timedelta(hours=1)
    readings = [
        (
            f"{prefix}/AC233FC0B0{m % 4:02X}/beacon",
            json.dumps(
                {
                    "readings": [
                        {
                            "tag_mac": tag,
                            "rssi": -60,
                            "ts": (start + timedelta(milliseconds=m)).isoformat(),
                        }
                        for tag in TAGS[:PER_MESSAGE]
                    ]
                }
            ).encode(),
        )
        for m in range(MESSAGES)
    ]
    events = [
        (
            f"{camera_base}/default/a/b/camera/{CAMERA}/crossLine/events",
            json.dumps({"AnalyticType": "CrossLineDetection", "EventID": f"shutdown-{e}"}).encode(),
        )
        for e in range(EVENTS)
    ]
    try:
        await wait_for(lambda: subscribed(1), seconds=60, what="the worker to subscribe")
        assert await stop_worker(worker) == 0
        await publish(mqtt_address.host, mqtt_address.port, readings + events)
        worker = await start_worker(env, log)
        await wait_for(lambda: subscribed(2), seconds=60, what="the worker to resubscribe")
        code = await stop_worker(worker)
    finally:
        await stop_worker(worker)
    text = log.read_text()
    assert code == 0, text[-4000:]
    assert await query(migrated, "SELECT count(*) FROM collection_logs") == [
        (MESSAGES * PER_MESSAGE,)
    ], text[-4000:]
    assert await query(migrated, "SELECT count(*) FROM device_events") == [(EVENTS,)]
    assert "Stopped." in text

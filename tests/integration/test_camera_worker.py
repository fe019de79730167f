"""cam-bus's own messages replayed over the real broker: events, statuses and incidents with
their images, each exactly once even when delivered twice."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import NewDevice
from securityvision.entrypoints.camera_worker import CameraWorker
from tests.conftest import MqttAddress
from tests.support.databases import temporary_database
from tests.support.rtls import SHARED_FIXTURES, publish, query, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

CAMBUS = SHARED_FIXTURES / "cambus"


@pytest.fixture
async def world(
    postgres_server_url: str, mqtt_address: MqttAddress, tmp_path: object
) -> AsyncIterator[tuple[str, str, Container]]:
    base = f"sv-test-{uuid.uuid4().hex[:10]}/cameras"
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "RTLS_MQTT_HOST": mqtt_address.host,
                "RTLS_MQTT_PORT": str(mqtt_address.port),
                "RTLS_MQTT_CLIENT_ID": f"test-{base.split('/', maxsplit=1)[0]}",
                "CAMBUS_MQTT_BASE_TOPIC": base,
                "RTLS_MQTT_PROTOCOL": "3.1.1",  # both the embedded broker and Mosquitto
                "MEDIA_ROOT": str(tmp_path),
                "SVPOS_SECRET_KEY": "s" * 48,
            },
            env_file=None,
        )
        container = build_container(settings)
        storage = container.storage()
        await storage.open()
        metrics = WorkerMetrics()
        stop = asyncio.Event()
        task = asyncio.create_task(CameraWorker(settings, container, metrics).run(stop))
        try:
            await container.create_camera().execute(NewDevice(name="Portaria", code="fixa01"))
            await asyncio.sleep(1.0)  # subscribed
            yield url, base, container
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await storage.close()


def fixture(name: str, base: str) -> tuple[str, bytes]:
    topic = (CAMBUS / f"{name}.topic").read_text().strip().replace("rtls/cameras", base, 1)
    return topic, (CAMBUS / f"{name}.json").read_bytes()


async def test_events_and_status_land_once_and_a_recognition_enriches_the_capture(
    world: tuple[str, str, Container], mqtt_address: MqttAddress
) -> None:
    url, base, _ = world
    messages = [fixture(n, base) for n in ("face_capture", "camera_status", "face_recognized")]
    await publish(mqtt_address.host, mqtt_address.port, messages + messages)

    async def three_events() -> bool:
        rows = await query(url, "SELECT count(*) FROM device_events")
        return int(rows[0][0]) >= 3

    await wait_for(three_events, what="the camera's events")
    await asyncio.sleep(1.0)  # the repeats have been handled too
    events = await query(
        url, "SELECT analytic_type, event_id FROM device_events ORDER BY analytic_type"
    )
    assert [row[0] for row in events] == ["faceCapture", "faceRecognized", "status"]
    incidents = await query(url, "SELECT kind, status FROM incidents")
    assert incidents == [("CAMERA_FACE", "OPEN")]
    seen = await query(url, "SELECT last_seen_at IS NOT NULL FROM devices WHERE code = 'fixa01'")
    assert seen == [(True,)]


async def test_an_inline_snapshot_becomes_a_media_message_of_the_incident(
    world: tuple[str, str, Container], mqtt_address: MqttAddress
) -> None:
    url, base, _ = world
    await publish(mqtt_address.host, mqtt_address.port, [fixture("face_capture_b64", base)])

    async def a_picture() -> bool:
        rows = await query(
            url, "SELECT media_url FROM incident_messages WHERE message_type = 'MEDIA'"
        )
        return bool(rows)

    await wait_for(a_picture, what="the snapshot on the incident")
    [(media_url,)] = await query(
        url, "SELECT media_url FROM incident_messages WHERE message_type = 'MEDIA'"
    )
    assert media_url.startswith("/media/incidents/")
    stored = await query(url, "SELECT payload::text FROM device_events")
    assert all("SnapshotB64" not in row[0] for row in stored)


async def test_messages_of_an_unknown_camera_are_not_stored(
    world: tuple[str, str, Container], mqtt_address: MqttAddress
) -> None:
    url, base, _ = world
    topic, payload = fixture("dahua_crossline", base)
    await publish(mqtt_address.host, mqtt_address.port, [(topic, payload)])
    await asyncio.sleep(1.5)
    assert await query(url, "SELECT count(*) FROM device_events") == [(0,)]

"""cam-bus's own messages replayed over the real broker: events, statuses and incidents with
their images, each exactly once even when delivered twice."""

import asyncio
import random
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from securityvision.adapters.mqtt.camera_simulator import face_jpeg
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


class Images(BaseHTTPRequestHandler):
    """cam-bus's MinIO and the face database, on this machine: a snapshot and a card photo."""

    def do_GET(self) -> None:
        body = CARD_PHOTO if self.path.startswith("/uploads/") else SNAPSHOT
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


# Not face.jpg: that is the inline snapshot of face_capture_b64, stored by the same name.
SNAPSHOT = face_jpeg(random.Random(7))
CARD_PHOTO = face_jpeg(random.Random(123))


@pytest.fixture
def image_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


async def test_replaying_every_cam_bus_example_twice_stores_each_thing_exactly_once(
    postgres_server_url: str, mqtt_address: MqttAddress, tmp_path: Path, image_server: str
) -> None:
    root = f"sv-test-{uuid.uuid4().hex[:10]}"
    base, uplinks = f"{root}/cameras", f"{root}/uplinks"
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "RTLS_MQTT_HOST": mqtt_address.host,
                "RTLS_MQTT_PORT": str(mqtt_address.port),
                "RTLS_MQTT_CLIENT_ID": f"test-{root}",
                "RTLS_MQTT_PROTOCOL": "3.1.1",
                "CAMBUS_MQTT_BASE_TOPIC": base,
                "CAMBUS_UPLINK_BASE_TOPIC": uplinks,
                "MEDIA_ROOT": str(tmp_path),
                "MEDIA_FETCH_ALLOWED_HOSTS": "127.0.0.1",
                "SVPOS_SECRET_KEY": "s" * 48,
            },
            env_file=None,
        )
        container = build_container(settings)
        storage = container.storage()
        await storage.open()
        stop = asyncio.Event()
        task = asyncio.create_task(CameraWorker(settings, container, WorkerMetrics()).run(stop))
        try:
            portaria = await container.create_camera().execute(
                NewDevice(name="Portaria", code="fixa01")
            )
            await container.create_camera().execute(NewDevice(name="Doca", code="doca01"))
            await asyncio.sleep(1.0)  # subscribed

            def example(name: str) -> tuple[str, bytes]:
                topic = (CAMBUS / f"{name}.topic").read_text().strip()
                topic = topic.replace("rtls/cameras", base, 1)
                topic = topic.replace("security-vision/cameras", uplinks, 1)
                payload = (CAMBUS / f"{name}.json").read_bytes()
                for host in (b"http://minio.local:9000", b"http://facedb.local"):
                    payload = payload.replace(host, image_server.encode())
                return topic, payload

            names = [
                "face_capture",
                "camera_status",
                "face_recognized",
                "collector_status",
                "dahua_crossline",
                "face_capture_b64",
                "uplink_status",
            ]
            messages = [example(n) for n in names]
            # Everything again, the other way round: a redelivery after a crash, reordered.
            await publish(mqtt_address.host, mqtt_address.port, messages + messages[::-1])

            async def all_landed() -> bool:
                rows = await query(
                    url,
                    "SELECT (SELECT count(*) FROM device_events),"
                    " (SELECT count(*) FROM incident_messages WHERE message_type = 'MEDIA'),"
                    " (SELECT count(*) FROM camera_uplinks WHERE state IS NOT NULL)",
                )
                return rows[0] == (5, 3, 1)

            await wait_for(all_landed, what="every example stored")
            await asyncio.sleep(1.5)  # the repeats have been handled too
            events = await query(
                url,
                "SELECT d.code, e.analytic_type, e.event_id FROM device_events e"
                " JOIN devices d ON d.id = e.device_id ORDER BY e.id",
            )
            incidents = await query(
                url, "SELECT id, kind, status, person_name FROM incidents ORDER BY id"
            )
            media = await query(
                url,
                "SELECT incident_id, media_url FROM incident_messages"
                " WHERE message_type = 'MEDIA' ORDER BY id",
            )
            stream = await container.get_uplink().execute(portaria.id)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await storage.close()

    assert sorted(events, key=str) == sorted(
        [
            ("fixa01", "faceCapture", "json-1795946712123456789"),
            ("fixa01", "status", "status-2026-11-29T10:05:15+00:00"),
            ("fixa01", "faceRecognized", "json-1795946712123456789"),
            ("doca01", "CrossLineDetection", "dahua-1795946760123456789"),
            ("fixa01", "faceCapture", "json-1795946799000000001"),
        ],
        key=str,
    )
    # The capture opened an incident that its recognition enriched; the capture 87 s later
    # (past the cooldown) opened another; the crossing matches no rule.
    assert [(kind, status, person) for _, kind, status, person in incidents] == [
        ("CAMERA_FACE", "OPEN", "Maria Silva"),
        ("CAMERA_FACE", "OPEN", None),
    ]
    first, second = (row[0] for row in incidents)
    # Each image once: the snapshot (which the recognition repeats), the enrolled photo, and
    # the inline snapshot of the later capture.
    assert [incident for incident, _ in media] == [first, first, second]
    assert len({url for _, url in media}) == 3
    assert all(url.startswith("/media/incidents/") for _, url in media)
    assert stream.uplink.stream is not None
    assert stream.uplink.stream.state == "running"

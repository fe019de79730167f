"""Publishing to cam-bus over the real broker, through the HTTP API: a camera's retained
/info (its password only on the wire), the tombstones it leaves, uplinks that the backend
stops when they are not renewed, and cam-bus's uplink replies taken in by the worker."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.entrypoints.camera_worker import CameraWorker
from securityvision.entrypoints.http import create_app
from tests.conftest import MqttAddress
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support.cambus import CAMERA_INFO_KEYS
from tests.support.databases import temporary_database
from tests.support.rtls import SHARED_FIXTURES, publish, query, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

CAMERA_PASSWORD = "pw-of-the-camera-4711"
SECRETS_KEY = "device-secrets-key-" + "q" * 40
Headers = dict[str, str]


@dataclass
class Heard:
    """Every message under a filter, raw: a tombstone is an empty payload."""

    messages: list[tuple[str, bytes, datetime]] = field(default_factory=list)

    def on(self, topic: str) -> list[bytes]:
        return [payload for t, payload, _ in self.messages if t == topic]

    def at(self, topic: str) -> list[datetime]:
        return [when for t, _, when in self.messages if t == topic]


async def _listen(mqtt: MqttAddress, topic_filter: str, heard: Heard, ready: asyncio.Event) -> None:
    async with aiomqtt.Client(
        mqtt.host, mqtt.port, protocol=aiomqtt.ProtocolVersion.V311
    ) as client:
        await client.subscribe(topic_filter, qos=1)
        ready.set()
        async for message in client.messages:
            if not message.topic.matches(topic_filter):
                continue  # amqtt hands out other subscriptions' retained messages too
            payload = message.payload
            assert isinstance(payload, bytes | bytearray)
            heard.messages.append((str(message.topic), bytes(payload), datetime.now(UTC)))


@contextlib.asynccontextmanager
async def listening(mqtt: MqttAddress, topic_filter: str) -> AsyncIterator[Heard]:
    heard = Heard()
    ready = asyncio.Event()
    task = asyncio.create_task(_listen(mqtt, topic_filter, heard, ready))
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield heard
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def retained(mqtt: MqttAddress, topic_filter: str) -> dict[str, bytes]:
    """What a subscriber arriving now is given."""
    async with listening(mqtt, topic_filter) as heard:
        await asyncio.sleep(1.0)
    return {topic: payload for topic, payload, _ in heard.messages}


@dataclass
class World:
    url: str
    info_base: str
    uplink_base: str
    container: Container
    client: AsyncTestClient
    root: Headers


@pytest.fixture
async def world(
    postgres_server_url: str, mqtt_address: MqttAddress, tmp_path: Path
) -> AsyncIterator[World]:
    root = f"sv-test-{uuid.uuid4().hex[:10]}"
    info_base, uplink_base = f"{root}/cameras", f"{root}/uplinks"
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        env = {
            "DATABASE_URL": url,
            "SVPOS_SECRET_KEY": TEST_SECRET,
            "SUPERADMIN_EMAIL": ROOT_EMAIL,
            "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
            "RTLS_MQTT_HOST": mqtt_address.host,
            "RTLS_MQTT_PORT": str(mqtt_address.port),
            "RTLS_MQTT_PROTOCOL": "3.1.1",
            "RTLS_MQTT_CLIENT_ID": f"test-{root}",
            # The broker "has authentication": camera passwords may go in /info.
            "RTLS_MQTT_USERNAME": "securityvision",
            "CAMBUS_MQTT_BASE_TOPIC": info_base,
            "CAMBUS_UPLINK_BASE_TOPIC": uplink_base,
            "DEVICE_SECRETS_KEY": SECRETS_KEY,
            "MEDIA_ROOT": str(tmp_path),
            "ACCESS_CONTROL_MQTT_ENABLED": "false",
        }
        container = build_container(load_settings(env, env_file=None))
        async with AsyncTestClient(create_app(container), raise_server_exceptions=False) as client:
            headers = await login(client, ROOT_EMAIL, ROOT_PASSWORD)
            yield World(url, info_base, uplink_base, container, client, headers)


@contextlib.asynccontextmanager
async def worker(world: World) -> AsyncIterator[None]:
    """The cam-bus half of the worker, on the API's container (its storage is open)."""
    stop = asyncio.Event()
    settings = world.container.settings()
    task = asyncio.create_task(CameraWorker(settings, world.container, WorkerMetrics()).run(stop))
    await asyncio.sleep(1.0)  # subscribed
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def send(world: World, method: str, path: str, body: object = None) -> Any:
    response = await world.client.request(method, path, json=body, headers=world.root)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


async def a_site(world: World) -> tuple[int, int, int]:
    building = await send(world, "POST", "/api/v1/buildings/", {"name": "Predio A", "code": "PA"})
    floors = [
        await send(world, "POST", "/api/v1/floors/", {"building_id": building["id"], "name": n})
        for n in ("Terreo", "Mezanino")
    ]
    return building["id"], floors[0]["id"], floors[1]["id"]


def a_camera(**extra: object) -> dict[str, object]:
    return {
        "name": "Portaria",
        "code": "fixa01",
        "ip_address": "10.0.0.10",
        "rtsp_url": "rtsp://10.0.0.10:554/Streaming/Channels/101",
        "central_media_mtx_ip": "mtx.example.com",
        "username": "admin",
        "password": CAMERA_PASSWORD,
        "manufacturer": "Hikvision",
    } | extra


async def every_row_as_text(url: str) -> str:
    tables = [
        row[0]
        for row in await query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    texts = []
    for table in tables:
        statement = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(table))
        texts += [row[0] for row in await query(url, statement.as_string())]
    return "\n".join(texts)


async def test_a_cameras_info_follows_it_and_its_password_is_only_ever_on_the_wire(
    world: World, mqtt_address: MqttAddress, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    building_id, ground, mezzanine = await a_site(world)
    old = f"{world.info_base}/default/predio_a/terreo/camera/fixa01/info"
    new = f"{world.info_base}/default/predio_a/mezanino/camera/fixa01/info"
    async with listening(mqtt_address, f"{world.info_base}/#") as heard:
        camera = await send(
            world,
            "POST",
            "/api/v1/devices/cameras/",
            a_camera(building_id=building_id, floor_id=ground),
        )

        async def info_sent() -> bool:
            return bool(heard.on(old))

        await wait_for(info_sent, what="the camera's /info")
        await send(world, "PUT", f"/api/v1/devices/cameras/{camera['id']}", {"floor_id": mezzanine})

        async def moved() -> bool:
            return bool(heard.on(new))

        await wait_for(moved, what="the /info on the camera's new topic")

    [document] = [msgspec.json.decode(p) for p in heard.on(old) if p]
    assert set(document) == CAMERA_INFO_KEYS | {"password"}
    assert document["password"] == CAMERA_PASSWORD
    assert document["central_host"] == "mtx.example.com"
    assert document["central_srt_port"] == 8890
    assert heard.on(old)[-1] == b""  # the tombstone on the topic it left

    kept = await retained(mqtt_address, f"{world.info_base}/#")
    assert set(kept) == {new}
    assert msgspec.json.decode(kept[new])["password"] == CAMERA_PASSWORD

    await send(world, "DELETE", f"/api/v1/devices/{camera['id']}")

    async def cleared() -> bool:
        return await retained(mqtt_address, f"{world.info_base}/#") == {}

    await wait_for(cleared, what="the tombstone of the deleted camera")

    # Never in clear in the database (the outbox included), never in a log line.
    assert CAMERA_PASSWORD not in await every_row_as_text(world.url)
    assert CAMERA_PASSWORD not in caplog.text


async def test_an_uplink_not_renewed_is_stopped_by_the_backend_after_its_ttl(
    world: World, mqtt_address: MqttAddress
) -> None:
    camera = await send(world, "POST", "/api/v1/devices/cameras/", a_camera())
    prefix = f"{world.uplink_base}/default/externo/externo/camera/fixa01/uplink"
    async with listening(mqtt_address, f"{world.uplink_base}/#") as heard:
        started = await send(
            world,
            "POST",
            f"/api/v1/devices/cameras/{camera['id']}/uplink/start",
            {"ttl_seconds": 2},
        )

        async def stopped() -> bool:
            return bool(heard.on(f"{prefix}/stop"))

        await wait_for(stopped, what="the backend's stop")

    assert started["status"] == "queued"
    assert started["action"] == "start"
    assert started["topic"] == f"{prefix}/start"
    assert started["payload"]["ttlSeconds"] == 2
    assert started["viewer_urls"]["srt"] == (
        "srt://mtx.example.com:8890?streamid=read:default/externo/fixa01"
    )
    [start] = heard.on(f"{prefix}/start")
    assert msgspec.json.decode(start) == started["payload"]
    [stop] = heard.on(f"{prefix}/stop")
    assert msgspec.json.decode(stop) == started["payload"]
    expires_at = datetime.fromisoformat(started["expires_at"])
    assert heard.at(f"{prefix}/stop")[0] >= expires_at  # not before its time

    uplink = await send(world, "GET", f"/api/v1/devices/cameras/{camera['id']}/uplink")
    assert (uplink["active"], uplink["stop_reason"]) == (False, "expired")


async def test_an_uplink_renewed_in_time_keeps_running_until_the_renewals_stop(
    world: World, mqtt_address: MqttAddress
) -> None:
    camera = await send(world, "POST", "/api/v1/devices/cameras/", a_camera())
    start_path = f"/api/v1/devices/cameras/{camera['id']}/uplink/start"
    stop_topic = f"{world.uplink_base}/default/externo/externo/camera/fixa01/uplink/stop"
    async with listening(mqtt_address, f"{world.uplink_base}/#") as heard:
        last = await send(world, "POST", start_path, {"ttl_seconds": 3})
        for _ in range(10):  # five seconds, longer than the TTL, renewed every half second
            await asyncio.sleep(0.5)
            last = await send(world, "POST", start_path, {"ttl_seconds": 3})
            assert last["renewed"] is True
        assert heard.on(stop_topic) == []

        async def stopped() -> bool:
            return bool(heard.on(stop_topic))

        await wait_for(stopped, what="the stop once the renewals ended")

    assert len(heard.on(stop_topic)) == 1
    assert heard.at(stop_topic)[0] >= datetime.fromisoformat(last["expires_at"])


async def test_uplink_replies_become_the_cameras_stream_state_and_our_info_is_not_an_event(
    world: World, mqtt_address: MqttAddress
) -> None:
    camera = await send(world, "POST", "/api/v1/devices/cameras/", a_camera())
    topic = (SHARED_FIXTURES / "cambus" / "uplink_status.topic").read_text().strip()
    reply = (SHARED_FIXTURES / "cambus" / "uplink_status.json").read_bytes()
    status_topic = (SHARED_FIXTURES / "cambus" / "camera_status.topic").read_text().strip()
    status = (SHARED_FIXTURES / "cambus" / "camera_status.json").read_bytes()
    async with worker(world):
        await publish(
            mqtt_address.host,
            mqtt_address.port,
            [
                (topic.replace("security-vision/cameras", world.uplink_base, 1), reply),
                (status_topic.replace("rtls/cameras", world.info_base, 1), status),
            ],
        )

        async def reported() -> bool:
            found = await send(world, "GET", f"/api/v1/devices/cameras/{camera['id']}/uplink")
            return found["state"] == "running"

        await wait_for(reported, what="the stream state")

        async def status_stored() -> bool:
            rows = await query(world.url, "SELECT count(*) FROM device_events")
            return int(rows[0][0]) >= 1

        await wait_for(status_stored, what="the camera's status")
        await asyncio.sleep(1.0)  # the retained /info the relay sent has reached the worker too

    listed = await send(world, "GET", "/api/v1/devices/cameras/")
    assert listed[0]["uplink"]["state"] == "running"
    assert listed[0]["uplink"]["container_name"] == "cam-bus-uplink-predio_a-terreo-fixa01"
    assert listed[0]["uplink"]["active"] is False
    events = await query(world.url, "SELECT analytic_type FROM device_events")
    assert events == [("status",)]  # our own /info, retained under the same base, is not one

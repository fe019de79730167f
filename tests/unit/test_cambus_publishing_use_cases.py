"""Publishing to cam-bus, on the in-memory adapters: each camera's retained /info follows the
camera (tombstones where it leaves), its password only joins the bytes as they are sent,
uplinks are leases that expire, and cam-bus's replies become the camera's stream state."""

import asyncio
import logging
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.cambus_ingest import CameraMessage, CameraOutcome
from securityvision.application.cambus_publishing import CameraSecretsPublisher
from securityvision.application.cameras import CameraPassword
from securityvision.application.devices import DeviceChanges
from securityvision.application.sites import BuildingChanges
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.cambus import CameraStatus, UplinkStatus
from securityvision.domain.devices import Device, DeviceType, NewDevice
from securityvision.domain.errors import Conflict, DomainError, InvalidInput
from securityvision.domain.outbox import OutboxMessage
from securityvision.domain.sites import NewBuilding, NewFloor
from tests.support.clock import FakeClock
from tests.support.outbox import FakePublisher

SECRETS_KEY = "device-secrets-" + "k" * 40
INFO = "rtls/cameras"
UPLINK = "security-vision/cameras"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


def make(storage: InMemoryStorage, clock: FakeClock, **env: str) -> Container:
    settings = load_settings(
        {"SVPOS_SECRET_KEY": "k" * 48, "DEVICE_SECRETS_KEY": SECRETS_KEY, **env}, env_file=None
    )
    return build_container(settings, storage=storage, clock=clock)


@pytest.fixture
def container(storage: InMemoryStorage, clock: FakeClock) -> Container:
    return make(storage, clock, CAMBUS_SHARD_HOSTS="shard-1=media.example.com")


def queued(storage: InMemoryStorage) -> list[OutboxMessage]:
    return sorted(storage.state.outbox.values(), key=lambda m: m.id)


def drain(storage: InMemoryStorage) -> list[OutboxMessage]:
    """What was queued since the last drain (as a relay would have taken it)."""
    messages = queued(storage)
    storage.state.outbox.clear()
    return messages


def cambus_only(messages: list[OutboxMessage]) -> list[tuple[str, bytes, bool]]:
    return [
        (m.destination, m.payload, m.retain)
        for m in messages
        if m.destination.startswith((INFO, UPLINK))
    ]


async def site(container: Container) -> tuple[int, int, int]:
    building = await container.create_building().execute(NewBuilding(name="Predio A", code="PA"))
    first = await container.create_floor().execute(NewFloor(building_id=building.id, name="Terreo"))
    second = await container.create_floor().execute(
        NewFloor(building_id=building.id, name="Mezanino")
    )
    return building.id, first.id, second.id


async def add_camera(container: Container, code: str = "fixa01", **fields: Any) -> Device:
    password = fields.pop("password", None)
    return await container.create_camera().execute(
        NewDevice(name="Portaria", code=code, **fields),
        None if password is None else CameraPassword(value=password),
    )


async def test_a_new_camera_gets_its_retained_info_with_the_keys_cam_bus_reads(
    container: Container, storage: InMemoryStorage
) -> None:
    building_id, floor_id, _ = await site(container)
    drain(storage)
    await add_camera(
        container, building_id=building_id, floor_id=floor_id, central_media_mtx_ip="mtx.local"
    )

    [(topic, payload, retain)] = cambus_only(drain(storage))
    assert topic == "rtls/cameras/default/predio_a/terreo/camera/fixa01/info"
    assert retain
    document = msgspec.json.decode(payload)
    assert document["central_host"] == "mtx.local"
    assert document["central_srt_port"] == 8890
    assert document["enabled"] is True
    assert "central_media_mtx_ip" not in document


async def test_a_password_is_never_in_the_outbox_only_a_reference_to_it(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    container = make(storage, clock, RTLS_MQTT_USERNAME="backend")
    await add_camera(container, password="s3cret-camera")

    [message] = [m for m in queued(storage) if m.destination.startswith(INFO)]
    assert b"s3cret" not in message.payload
    assert "password" not in msgspec.json.decode(message.payload)
    assert message.options["render"] == "camera_credentials"
    assert b"s3cret" not in msgspec.json.encode(message.options)


async def test_without_broker_authentication_the_info_never_asks_for_the_password(
    container: Container, storage: InMemoryStorage
) -> None:
    await add_camera(container, password="s3cret-camera")

    [message] = [m for m in queued(storage) if m.destination.startswith(INFO)]
    assert "render" not in message.options


async def test_the_relay_puts_the_password_in_the_bytes_it_sends(
    storage: InMemoryStorage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    container = make(storage, clock, RTLS_MQTT_USERNAME="backend")
    await add_camera(container, password="s3cret-camera")
    inner = FakePublisher()
    publisher = CameraSecretsPublisher(inner, storage.unit_of_work, container.secret_cipher())
    caplog.set_level(logging.DEBUG)

    for message in queued(storage):
        await publisher.publish(message)

    [payload] = [p for t, p in inner.sent if t.startswith(INFO)]
    assert msgspec.json.decode(payload)["password"] == "s3cret-camera"
    assert all(b"s3cret" not in m.payload for m in queued(storage))
    assert "s3cret" not in caplog.text


async def test_a_password_unreadable_with_the_key_is_left_out_and_named_by_camera_only(
    storage: InMemoryStorage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    container = make(storage, clock, RTLS_MQTT_USERNAME="backend")
    camera = await add_camera(container, password="s3cret-camera")
    other_key = make(storage, clock, DEVICE_SECRETS_KEY="another-key-" + "z" * 40)
    inner = FakePublisher()
    publisher = CameraSecretsPublisher(inner, storage.unit_of_work, other_key.secret_cipher())

    for message in queued(storage):
        await publisher.publish(message)

    [(_, payload)] = [(t, p) for t, p in inner.sent if t.startswith(INFO)]
    assert "password" not in msgspec.json.decode(payload)
    assert f"camera {camera.id}" in caplog.text
    assert "s3cret" not in caplog.text


async def test_a_new_password_re_sends_the_info_and_an_unchanged_camera_sends_nothing(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    container = make(storage, clock, RTLS_MQTT_USERNAME="backend")
    camera = await add_camera(container, password="first")
    drain(storage)

    await container.update_camera().execute(camera.id, DeviceChanges(pos_x=0.5))
    await container.update_camera().execute(camera.id, DeviceChanges(name="Portaria"))
    assert cambus_only(drain(storage)) == []

    await container.update_camera().execute(
        camera.id, DeviceChanges(), CameraPassword(value="second")
    )
    assert [t for t, _, _ in cambus_only(drain(storage))] == [
        "rtls/cameras/default/externo/externo/camera/fixa01/info"
    ]


async def test_a_camera_that_moves_leaves_a_tombstone_where_it_was(
    container: Container, storage: InMemoryStorage
) -> None:
    building_id, first, second = await site(container)
    camera = await add_camera(container, building_id=building_id, floor_id=first)
    drain(storage)

    await container.update_camera().execute(camera.id, DeviceChanges(floor_id=second))

    assert [(t, p) for t, p, _ in cambus_only(drain(storage))][:1] == [
        ("rtls/cameras/default/predio_a/terreo/camera/fixa01/info", b"")
    ]
    assert (await publication_topic(storage, camera.id)) == (
        "rtls/cameras/default/predio_a/mezanino/camera/fixa01/info"
    )


async def publication_topic(storage: InMemoryStorage, device_id: int) -> str | None:
    async with storage.unit_of_work() as uow:
        found = await uow.camera_publications.get(device_id)
    return None if found is None else found.topic


async def test_a_new_code_moves_the_camera_and_deleting_it_leaves_a_tombstone(
    container: Container, storage: InMemoryStorage
) -> None:
    camera = await add_camera(container)
    drain(storage)

    await container.update_camera().execute(camera.id, DeviceChanges(code="fixa02"))
    renamed = cambus_only(drain(storage))
    assert [(t, p == b"") for t, p, _ in renamed] == [
        ("rtls/cameras/default/externo/externo/camera/fixa01/info", True),
        ("rtls/cameras/default/externo/externo/camera/fixa02/info", False),
    ]

    await container.delete_device().execute(camera.id)
    assert cambus_only(drain(storage)) == [
        ("rtls/cameras/default/externo/externo/camera/fixa02/info", b"", True)
    ]
    assert await publication_topic(storage, camera.id) is None


async def test_renaming_a_building_moves_its_cameras_and_deleting_it_unplaces_them(
    container: Container, storage: InMemoryStorage
) -> None:
    building_id, floor_id, _ = await site(container)
    camera = await add_camera(container, building_id=building_id, floor_id=floor_id)
    drain(storage)

    await container.update_building().execute(building_id, BuildingChanges(name="Torre B"))
    assert [(t, p == b"") for t, p, _ in cambus_only(drain(storage))] == [
        ("rtls/cameras/default/predio_a/terreo/camera/fixa01/info", True),
        ("rtls/cameras/default/torre_b/terreo/camera/fixa01/info", False),
    ]

    await container.delete_building().execute(building_id)
    assert [(t, p == b"") for t, p, _ in cambus_only(drain(storage))] == [
        ("rtls/cameras/default/torre_b/terreo/camera/fixa01/info", True),
        ("rtls/cameras/default/externo/externo/camera/fixa01/info", False),
    ]
    assert await publication_topic(storage, camera.id) is not None


async def test_a_device_made_a_camera_through_the_devices_routes_is_published_too(
    container: Container, storage: InMemoryStorage
) -> None:
    device = await container.create_device().execute(NewDevice(name="Doca", code="doca01"))
    assert cambus_only(drain(storage)) == []

    await container.update_device().execute(device.id, DeviceChanges(type=DeviceType.CAMERA))
    assert [t for t, _, _ in cambus_only(drain(storage))] == [
        "rtls/cameras/default/externo/externo/camera/doca01/info"
    ]
    await container.update_device().execute(
        device.id, DeviceChanges(type=DeviceType.ACCESS_CONTROLLER)
    )
    assert cambus_only(drain(storage)) == [
        ("rtls/cameras/default/externo/externo/camera/doca01/info", b"", True)
    ]


async def test_names_with_wildcards_and_slashes_cannot_break_the_topic(
    container: Container, storage: InMemoryStorage
) -> None:
    building = await container.create_building().execute(NewBuilding(name="Ala #1", code="A1"))
    floor = await container.create_floor().execute(NewFloor(building_id=building.id, name="1/2+"))
    await add_camera(container, code="cam+#/1", building_id=building.id, floor_id=floor.id)

    [(topic, _, _)] = cambus_only(drain(storage))
    assert topic == "rtls/cameras/default/ala_%231/1-2%2B/camera/cam%2B%23-1/info"


async def test_two_cameras_cam_bus_could_not_tell_apart_are_refused(
    container: Container, storage: InMemoryStorage
) -> None:
    await add_camera(container, code="Cam 1")
    drain(storage)

    with pytest.raises(Conflict) as refused:
        await add_camera(container, code="cam_1")
    assert refused.value.code == "camera_topic_taken"
    assert cambus_only(drain(storage)) == []
    async with storage.unit_of_work() as uow:
        assert [d.code for d in await uow.devices.list(limit=None)] == ["Cam 1"]


async def test_nothing_is_published_when_cam_bus_is_off(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    container = make(storage, clock, CAMBUS_MQTT_ENABLED="false")
    camera = await add_camera(container)
    await container.delete_device().execute(camera.id)
    assert cambus_only(queued(storage)) == []
    with pytest.raises(DomainError) as refused:
        await container.start_uplink().execute(camera.id)
    assert refused.value.code == "cambus_disabled"


# --- uplinks ----------------------------------------------------------------------------


async def test_a_start_queues_cam_bus_request_and_answers_expiry_and_viewer_urls(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    building_id, floor_id, _ = await site(container)
    camera = await add_camera(
        container,
        building_id=building_id,
        floor_id=floor_id,
        central_path="predio_a/terreo/fixa01",
    )
    drain(storage)

    order = await container.start_uplink().execute(camera.id, 120)

    topic = "security-vision/cameras/default/predio_a/terreo/camera/fixa01/uplink/start"
    assert cambus_only(drain(storage)) == [(topic, msgspec.json.encode(order.payload), False)]
    assert order.payload == {
        "cameraId": "fixa01",
        "proxyPath": "fixa01",
        "centralPath": "predio_a/terreo/fixa01",
        "centralHost": "media.example.com",  # the shard's, from CAMBUS_SHARD_HOSTS
        "centralSrtPort": 8890,
        "ttlSeconds": 120,
    }
    assert order.uplink.uplink.expires_at == clock.now() + timedelta(seconds=120)
    assert order.uplink.active
    assert not order.renewed
    assert order.viewer_urls is not None
    assert order.viewer_urls.srt == (
        "srt://media.example.com:8890?streamid=read:predio_a/terreo/fixa01"
    )
    assert order.viewer_urls.webrtc == "https://media.example.com/predio_a/terreo/fixa01/whep"


async def test_the_default_ttl_applies_and_a_ttl_out_of_range_is_refused(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    order = await container.start_uplink().execute(camera.id)
    assert order.payload["ttlSeconds"] == 300
    with pytest.raises(InvalidInput) as refused:
        await container.start_uplink().execute(camera.id, 0)
    assert refused.value.code == "invalid_ttl"


async def test_a_camera_with_no_media_host_cannot_uplink(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    container = make(storage, clock)
    camera = await add_camera(container)
    with pytest.raises(InvalidInput) as refused:
        await container.start_uplink().execute(camera.id)
    assert refused.value.code == "uplink_not_configured"


async def test_an_uplink_not_renewed_is_stopped_once_and_a_renewed_one_is_not(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    await container.start_uplink().execute(camera.id, 2)
    drain(storage)
    expire = container.expire_uplinks()

    clock.advance(seconds=1.5)
    renewal = await container.start_uplink().execute(camera.id, 2)
    assert renewal.renewed
    drain(storage)
    clock.advance(seconds=1.5)
    assert await expire.execute() == 0
    assert cambus_only(drain(storage)) == []

    clock.advance(seconds=0.5)
    assert await expire.execute() == 1
    [(topic, payload, retain)] = cambus_only(drain(storage))
    assert topic.endswith("/camera/fixa01/uplink/stop")
    assert msgspec.json.decode(payload) == renewal.payload
    assert not retain
    assert await expire.execute() == 0
    uplink = await container.get_uplink().execute(camera.id)
    assert not uplink.active
    assert uplink.uplink.stop_reason == "expired"


async def test_a_stopped_uplink_is_not_stopped_again_at_its_expiry(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    await container.start_uplink().execute(camera.id, 2)
    stopped = await container.stop_uplink().execute(camera.id)
    assert stopped.topic.endswith("/camera/fixa01/uplink/stop")
    drain(storage)

    clock.advance(seconds=5)
    assert await container.expire_uplinks().execute() == 0
    assert cambus_only(drain(storage)) == []


async def test_a_stop_without_a_lease_is_still_sent_as_the_original_did(
    container: Container, storage: InMemoryStorage
) -> None:
    camera = await add_camera(container)
    drain(storage)
    order = await container.stop_uplink().execute(camera.id)
    assert [t for t, _, _ in cambus_only(drain(storage))] == [order.topic]
    assert order.payload["cameraId"] == "fixa01"


async def test_uplinks_are_for_cameras_only(container: Container) -> None:
    gateway = await container.create_device().execute(NewDevice(name="Gateway"))
    with pytest.raises(InvalidInput) as refused:
        await container.start_uplink().execute(gateway.id)
    assert refused.value.code == "not_a_camera"


async def test_the_expiry_loop_runs_in_one_process_at_a_time(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    await container.start_uplink().execute(camera.id, 1)
    drain(storage)
    first, second = container.uplink_expiry(), make(storage, clock).uplink_expiry()
    stop = asyncio.Event()
    runs = [asyncio.create_task(loop.run(stop)) for loop in (first, second)]
    await asyncio.sleep(0.1)
    clock.advance(seconds=2)
    for _ in range(50):
        if cambus_only(queued(storage)):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)
    stop.set()
    await asyncio.gather(*runs)

    [(topic, _, _)] = cambus_only(drain(storage))
    assert topic.endswith("/uplink/stop")


# --- what cam-bus says ----------------------------------------------------------------------


def uplink_status(state: str, at_seconds: float, clock: FakeClock) -> UplinkStatus:
    return UplinkStatus(
        camera_id="cam_1",
        state=state,
        reported_at=clock.now() + timedelta(seconds=at_seconds),
        container_name="cam-bus-uplink-x",
        exit_code=0,
        error="" if state == "running" else "ttl expired",
    )


async def test_uplink_replies_become_the_stream_state_and_an_older_one_changes_nothing(
    container: Container, clock: FakeClock
) -> None:
    camera = await add_camera(container, code="Cam 1")
    record = container.record_uplink_status()

    assert (await record.execute("cam_1", uplink_status("stopped", 2, clock))).recorded
    assert not (await record.execute("cam_1", uplink_status("running", 1, clock))).recorded
    assert not (await record.execute("other", uplink_status("running", 3, clock))).known_camera

    view = await container.get_uplink().execute(camera.id)
    assert view.uplink.stream is not None
    assert view.uplink.stream.state == "stopped"
    assert view.uplink.stream.error == "ttl expired"
    listed = await container.camera_uplinks().execute([camera.id])
    assert listed[camera.id].uplink.stream == view.uplink.stream


async def test_a_cameras_messages_are_matched_by_the_level_it_is_published_under(
    container: Container, clock: FakeClock
) -> None:
    # "Cam 1" is published as cam_1: cam-bus's messages come back under that level.
    camera = await add_camera(container, code="Cam 1")
    status = CameraStatus(status="online", reported_at=clock.now())
    report = await container.ingest_camera_message().execute(
        CameraMessage(
            camera_code="cam_1",
            topic="rtls/cameras/default/externo/externo/camera/cam_1/status",
            received_at=clock.now(),
            payload={"status": "online"},
            status=status,
        )
    )
    assert report.outcome is CameraOutcome.STORED
    events = await container.list_camera_events().execute(camera.id)
    assert [e.analytic_type for e in events] == ["status"]


async def test_cameras_registered_before_publishing_existed_are_sent_once_on_taking_over(
    container: Container, storage: InMemoryStorage
) -> None:
    async with storage.unit_of_work() as uow:  # as an older release left them: no /info sent
        for code in ("fixa01", "Cam 1", "cam_1"):
            await uow.devices.add(NewDevice(name=code, code=code, type=DeviceType.CAMERA))
        await uow.commit()

    assert await container.sync_camera_info().execute() == 3
    # "Cam 1" and "cam_1" are one device level: the first keeps it, the other is named.
    assert sorted(t for t, _, _ in cambus_only(drain(storage))) == [
        "rtls/cameras/default/externo/externo/camera/cam_1/info",
        "rtls/cameras/default/externo/externo/camera/fixa01/info",
    ]
    await container.sync_camera_info().execute()
    assert cambus_only(drain(storage)) == []

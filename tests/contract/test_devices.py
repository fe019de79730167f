"""The device repository behaves the same on every adapter."""

from datetime import UTC, datetime

import msgspec
import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.application.ports import Storage
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.errors import Conflict
from securityvision.domain.rtls import NewCollectionLog, NewTag

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

CAMERA = NewDevice(
    name="Portaria",
    description="front gate",
    type=DeviceType.CAMERA,
    code="fixa01",
    mac_address="AA:BB:CC:00:00:01",
    pos_x=0.25,
    pos_y=0.75,
    ip_address="10.0.0.10",
    port=80,
    username="admin",
    rtsp_url="rtsp://10.0.0.10:554/Streaming/Channels/101",
    proxy_path="predio_a/terreo/fixa01",
    central_path="predio_a/terreo/fixa01",
    record_retention_minutes=30,
    central_media_mtx_ip="mtx.example.com",
    manufacturer="Hikvision",
    model="any",
    shard="shard-1",
    tenant="default",
    analytics=("faceCapture", "VMD"),
    last_seen_at=T0,
)


async def test_a_device_reads_back_with_every_field(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.devices.add(CAMERA)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.get(added.id) == added
        assert await uow.devices.get_for_update(added.id) == added
        assert await uow.devices.get(added.id + 1000) is None
    stored = msgspec.structs.asdict(added)
    assert {k: stored[k] for k in CAMERA.__struct_fields__} == msgspec.structs.asdict(CAMERA)
    assert added.type is DeviceType.CAMERA
    assert added.reported_online is None


async def test_codes_and_macs_are_unique_but_absent_ones_never_collide(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.devices.add(NewDevice(name="A", code="gw-1", mac_address="11:11:11:11:11:11"))
        other = await uow.devices.add(NewDevice(name="B"))
        await uow.devices.add(NewDevice(name="C"))
        await uow.commit()
    codes = []
    for attempt in [
        NewDevice(name="D", code="gw-1"),
        NewDevice(name="E", mac_address="11:11:11:11:11:11"),
    ]:
        async with storage.unit_of_work() as uow:
            with pytest.raises(Conflict) as caught:
                await uow.devices.add(attempt)
            codes.append(caught.value.code)
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_update:
            await uow.devices.update(msgspec.structs.replace(other, code="gw-1"))
    assert codes == ["device_code_taken", "device_mac_taken"]
    assert on_update.value.code == "device_code_taken"


async def test_devices_list_by_type_before_paging_and_without_a_limit(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        cameras = [
            await uow.devices.add(NewDevice(name=f"cam {i}", type=DeviceType.CAMERA))
            for i in range(2)
        ]
        gateways = [await uow.devices.add(NewDevice(name=f"gw {i}")) for i in range(3)]
        await uow.commit()
    async with storage.unit_of_work() as uow:
        only = await uow.devices.list(type=DeviceType.BLE_GATEWAY, limit=2)
        assert [d.id for d in only] == [g.id for g in gateways[:2]]
        assert [d.id for d in await uow.devices.list(limit=None)] == [
            d.id for d in cameras + gateways
        ]
        assert [d.id for d in await uow.devices.list(skip=4)] == [gateways[2].id]


async def test_devices_are_found_by_their_stored_mac(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        gateway = await uow.devices.add(NewDevice(name="GW", mac_address="11:22:33:44:55:66"))
        lobby = await uow.devices.add(NewDevice(name="Lobby", mac_address="ESP32-LOBBY"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [d.id for d in await uow.devices.find_by_mac("11:22:33:44:55:66")] == [gateway.id]
        assert [d.id for d in await uow.devices.find_by_mac("ESP32-LOBBY")] == [lobby.id]
        assert await uow.devices.find_by_mac("11:22:33:44:55:67") == []


async def test_updating_a_device_persists_every_field_and_clears_with_none(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.devices.add(CAMERA)
        await uow.commit()
    changed = msgspec.structs.replace(
        added,
        name="Portaria 2",
        type=DeviceType.ACCESS_CONTROLLER,
        code=None,
        mac_address="AA:BB:CC:00:00:02",
        pos_x=None,
        pos_y=None,
        analytics=(),
        port=8080,
        last_seen_at=None,
    )
    async with storage.unit_of_work() as uow:
        saved = await uow.devices.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.get(added.id) == saved
    assert msgspec.structs.replace(saved, updated_at=changed.updated_at) == changed
    assert saved.updated_at >= added.updated_at


async def test_deleting_a_device_removes_it_with_its_readings_only(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        gone = await uow.devices.add(NewDevice(name="gone"))
        kept = await uow.devices.add(NewDevice(name="kept"))
        tag = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF"))
        for device in (gone, kept):
            await uow.collection_logs.add(
                NewCollectionLog(
                    device_id=device.id, tag_id=tag.id, rssi=-60, created_at=T0, received_at=T0
                )
            )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.delete(gone.id) is True
        assert await uow.devices.delete(gone.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.get(gone.id) is None
        assert [r.device_id for r in await uow.collection_logs.list()] == [kept.id]
        assert await uow.tags.get(tag.id) is not None


async def report_online(storage: Storage, device_id: int, online: bool) -> None:
    """What the worker records on a transition; no port of this slice writes it."""
    if isinstance(storage, InMemoryStorage):
        device = storage.state.devices[device_id]
        storage.state.devices[device_id] = msgspec.structs.replace(device, reported_online=online)
        return
    assert isinstance(storage, PostgresStorage)
    async with storage.connection() as conn:
        await conn.execute(
            "UPDATE devices SET reported_online = %s WHERE id = %s", [online, device_id]
        )


async def test_an_operators_update_never_overwrites_the_reported_online_state(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.devices.add(NewDevice(name="GW"))
        await uow.commit()
    await report_online(storage, added.id, False)
    async with storage.unit_of_work() as uow:
        saved = await uow.devices.update(msgspec.structs.replace(added, name="Lobby"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        again = await uow.devices.get(added.id)
    assert saved.reported_online is False
    assert again == saved

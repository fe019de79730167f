"""The stored-reading repository behaves the same on every adapter."""

from datetime import UTC, datetime, timedelta

import pytest

from securityvision.application.ports import Storage
from securityvision.domain.devices import Device, NewDevice
from securityvision.domain.errors import Conflict
from securityvision.domain.rtls import CollectionLog, NewCollectionLog, NewTag, Tag

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def reading(device: Device, tag: Tag, at: datetime, rssi: int = -60) -> NewCollectionLog:
    return NewCollectionLog(
        device_id=device.id,
        tag_id=tag.id,
        rssi=rssi,
        created_at=at,
        received_at=T0,
        raw_payload='{"gateway": "GW"}',
    )


async def registry(storage: Storage) -> tuple[list[Device], list[Tag]]:
    async with storage.unit_of_work() as uow:
        devices = [await uow.devices.add(NewDevice(name=f"gw {i}")) for i in range(2)]
        tags = [await uow.tags.add(NewTag(mac_address=f"AA:BB:CC:DD:EE:0{i}")) for i in range(2)]
        await uow.commit()
    return devices, tags


async def store(storage: Storage, *logs: NewCollectionLog) -> list[CollectionLog]:
    async with storage.unit_of_work() as uow:
        stored = [await uow.collection_logs.add(log) for log in logs]
        await uow.commit()
    return stored


async def test_a_reading_reads_back_by_id(storage: Storage) -> None:
    (gw, _), (tag, _) = await registry(storage)
    (added,) = await store(storage, reading(gw, tag, T0))
    async with storage.unit_of_work() as uow:
        assert await uow.collection_logs.get(added.id) == added
        assert await uow.collection_logs.get(added.id + 1000) is None
    assert (added.device_id, added.tag_id, added.rssi, added.created_at) == (gw.id, tag.id, -60, T0)
    assert added.received_at == T0
    assert added.raw_payload == '{"gateway": "GW"}'


async def test_readings_of_any_day_are_stored_however_old_or_new_the_day(
    storage: Storage,
) -> None:
    (gw, _), (tag, _) = await registry(storage)
    days = [datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)]
    stored = await store(storage, *(reading(gw, tag, at) for at in days))
    assert [s.created_at for s in stored] == days


async def test_the_same_tag_read_by_the_same_device_at_the_same_instant_is_one_reading(
    storage: Storage,
) -> None:
    (gw, other), (tag, _) = await registry(storage)
    await store(storage, reading(gw, tag, T0), reading(other, tag, T0))
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.collection_logs.add(reading(gw, tag, T0, rssi=-70))
    assert caught.value.code == "reading_exists"


async def test_readings_list_newest_first_filtered_before_paging(storage: Storage) -> None:
    (gw, other), (tag, other_tag) = await registry(storage)
    minutes = [T0 + timedelta(minutes=m) for m in range(5)]
    mine = await store(storage, *(reading(gw, tag, at) for at in minutes))
    await store(
        storage,
        *(reading(other, tag, at) for at in minutes),
        *(reading(gw, other_tag, at) for at in minutes),
    )
    newest_first = [r.id for r in reversed(mine)]
    async with storage.unit_of_work() as uow:
        logs = uow.collection_logs
        assert [r.id for r in await logs.list(device_id=gw.id, tag_id=tag.id)] == newest_first
        assert [r.id for r in await logs.list(device_id=gw.id, tag_id=tag.id, limit=2)] == (
            newest_first[:2]
        )
        assert [r.id for r in await logs.list(device_id=gw.id, tag_id=tag.id, skip=4)] == (
            newest_first[4:]
        )
        window = await logs.list(
            device_id=gw.id, tag_id=tag.id, from_ts=minutes[1], to_ts=minutes[3]
        )
        assert [r.created_at for r in window] == [minutes[3], minutes[2], minutes[1]]
        assert len(await logs.list(from_ts=minutes[4])) == 3
        assert len(await logs.list(to_ts=minutes[0])) == 3
        assert len(await logs.list(limit=1000)) == 15
        everything = await logs.list(limit=1000)
    assert [r.created_at for r in everything] == sorted(
        (r.created_at for r in everything), reverse=True
    )


async def test_a_reading_is_deleted_once(storage: Storage) -> None:
    (gw, _), (tag, _) = await registry(storage)
    (added,) = await store(storage, reading(gw, tag, T0))
    async with storage.unit_of_work() as uow:
        assert await uow.collection_logs.delete(added.id) is True
        assert await uow.collection_logs.delete(added.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.collection_logs.get(added.id) is None


async def test_a_devices_readings_are_known_and_removed_together(storage: Storage) -> None:
    (gw, other), (tag, _) = await registry(storage)
    await store(storage, reading(gw, tag, T0), reading(gw, tag, T0 + timedelta(seconds=1)))
    await store(storage, reading(other, tag, T0))
    async with storage.unit_of_work() as uow:
        assert await uow.collection_logs.has_for_device(gw.id) is True
        assert await uow.collection_logs.delete_for_device(gw.id) == 2
        assert await uow.collection_logs.has_for_device(gw.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [r.device_id for r in await uow.collection_logs.list()] == [other.id]
        assert await uow.collection_logs.delete_for_device(gw.id) == 0


async def test_readings_not_committed_are_rolled_back(storage: Storage) -> None:
    (gw, _), (tag, _) = await registry(storage)
    async with storage.unit_of_work() as uow:
        # Reading first puts the work inside a transaction before the day is first needed.
        assert await uow.tags.get(tag.id) == tag
        await uow.collection_logs.add(reading(gw, tag, datetime(2019, 5, 5, tzinfo=UTC)))
    async with storage.unit_of_work() as uow:
        assert await uow.collection_logs.list() == []
    # The day's partition went with the rolled-back work; a later reading recreates it.
    await store(storage, reading(gw, tag, datetime(2019, 5, 5, 1, tzinfo=UTC)))
    async with storage.unit_of_work() as uow:
        assert len(await uow.collection_logs.list()) == 1

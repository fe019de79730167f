"""The tag and unknown-tag repositories behave the same on every adapter."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.application.ports import Storage
from securityvision.domain.devices import NewDevice
from securityvision.domain.errors import Conflict, NotFound
from securityvision.domain.people import NewPerson
from securityvision.domain.rtls import NewCollectionLog, NewTag, UnknownTag

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def seed_unknown_tag(storage: Storage, unknown: UnknownTag) -> None:
    """Unknown tags are written by the ingest path; here they are planted directly."""
    if isinstance(storage, InMemoryStorage):
        storage.state.unknown_tags[unknown.mac_address] = unknown
        return
    assert isinstance(storage, PostgresStorage)
    async with storage.connection() as conn:
        await conn.execute(
            "INSERT INTO unknown_tags (mac_address, last_device_id, last_rssi, first_seen_at,"
            " last_seen_at, readings_count) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                unknown.mac_address,
                unknown.last_device_id,
                unknown.last_rssi,
                unknown.first_seen_at,
                unknown.last_seen_at,
                unknown.readings_count,
            ],
        )


async def test_a_tag_reads_back_by_id_and_by_mac(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ana = await uow.people.add(NewPerson(full_name="Ana"))
        tag = await uow.tags.add(
            NewTag(
                mac_address="AA:BB:CC:DD:EE:FF",
                label="badge 7",
                person_id=ana.id,
                active=False,
                notes="spare",
            )
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.tags.get(tag.id) == tag
        assert await uow.tags.get_by_mac("AA:BB:CC:DD:EE:FF") == tag
        assert await uow.tags.get_by_mac("AA:BB:CC:DD:EE:00") is None
    assert (tag.label, tag.person_id, tag.active, tag.notes) == ("badge 7", ana.id, False, "spare")


async def test_a_mac_is_registered_once_on_add_and_on_update(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF"))
        other = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:01"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_add:
            await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF"))
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_update:
            await uow.tags.update(msgspec.structs.replace(other, mac_address="AA:BB:CC:DD:EE:FF"))
    assert on_add.value.code == on_update.value.code == "tag_mac_taken"


async def test_a_tag_of_a_person_who_does_not_exist_is_refused(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        with pytest.raises(NotFound) as caught:
            await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF", person_id=424242))
    assert caught.value.code == "person_not_found"


async def test_the_person_filter_applies_before_paging(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ana = await uow.people.add(NewPerson(full_name="Ana"))
        for i in range(3):
            await uow.tags.add(NewTag(mac_address=f"00:00:00:00:00:0{i}"))
        mine = [
            await uow.tags.add(NewTag(mac_address=f"AA:00:00:00:00:0{i}", person_id=ana.id))
            for i in range(2)
        ]
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [t.id for t in await uow.tags.list(person_id=ana.id, limit=1)] == [mine[0].id]
        assert [t.id for t in await uow.tags.list(person_id=ana.id, skip=1)] == [mine[1].id]
        assert len(await uow.tags.list()) == 5
        assert len(await uow.tags.list(skip=4, limit=10)) == 1


async def test_updating_a_tag_persists_every_field(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ana = await uow.people.add(NewPerson(full_name="Ana"))
        tag = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF"))
        await uow.commit()
    changed = msgspec.structs.replace(
        tag, mac_address="AA:BB:CC:DD:EE:00", label="x", person_id=ana.id, active=False, notes="n"
    )
    async with storage.unit_of_work() as uow:
        saved = await uow.tags.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.tags.get(tag.id) == saved
    assert msgspec.structs.replace(saved, updated_at=changed.updated_at) == changed
    assert saved.updated_at >= tag.updated_at


async def test_deleting_a_tag_removes_its_readings_and_nothing_else(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        gateway = await uow.devices.add(NewDevice(name="GW"))
        gone = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF"))
        kept = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:00"))
        for tag in (gone, kept):
            await uow.collection_logs.add(
                NewCollectionLog(
                    device_id=gateway.id, tag_id=tag.id, rssi=-60, created_at=T0, received_at=T0
                )
            )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.tags.delete(gone.id) is True
        assert await uow.tags.delete(gone.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.tags.get(gone.id) is None
        assert [r.tag_id for r in await uow.collection_logs.list()] == [kept.id]


async def test_unknown_tags_list_newest_first_with_the_last_gateways_name(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        gateway = await uow.devices.add(NewDevice(name="Lobby", mac_address="11:22:33:44:55:66"))
        await uow.commit()
    older = UnknownTag(
        mac_address="AA:AA:AA:AA:AA:01",
        last_device_id=gateway.id,
        last_rssi=-70,
        first_seen_at=T0 - timedelta(hours=2),
        last_seen_at=T0 - timedelta(hours=1),
        readings_count=3,
    )
    newer = UnknownTag(
        mac_address="AA:AA:AA:AA:AA:02",
        last_rssi=-50,
        first_seen_at=T0,
        last_seen_at=T0,
        readings_count=1,
    )
    await seed_unknown_tag(storage, older)
    await seed_unknown_tag(storage, newer)
    async with storage.unit_of_work() as uow:
        listed = list(await uow.unknown_tags.list())
        assert [u.mac_address for u in await uow.unknown_tags.list(skip=1)] == [older.mac_address]
    assert listed == [newer, msgspec.structs.replace(older, last_device_name="Lobby")]


async def test_deleting_a_gateway_makes_unknown_tags_forget_it(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        gateway = await uow.devices.add(NewDevice(name="Lobby"))
        await uow.commit()
    await seed_unknown_tag(
        storage,
        UnknownTag(
            mac_address="AA:AA:AA:AA:AA:01",
            last_device_id=gateway.id,
            first_seen_at=T0,
            last_seen_at=T0,
            readings_count=1,
        ),
    )
    async with storage.unit_of_work() as uow:
        await uow.devices.delete(gateway.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        (unknown,) = await uow.unknown_tags.list()
    assert (unknown.last_device_id, unknown.last_device_name) == (None, None)

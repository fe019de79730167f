"""The ingest port behaves the same on every adapter."""

from datetime import UTC, datetime, timedelta

from securityvision.application.ports import (
    GatewaySighting,
    ReadingRow,
    Storage,
    UnknownTagSighting,
)
from securityvision.domain.rtls import NewTag

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def sighting(key: str, mac: str | None, **times: datetime) -> GatewaySighting:
    return GatewaySighting(key=key, mac=mac, **times)


def reading(
    gateway: int, tag_id: int, second: int, rssi: int, raw: str | None = None
) -> ReadingRow:
    """A reading ``second`` seconds after T0, received at T0."""
    return ReadingRow(
        device_id=gateway,
        tag_id=tag_id,
        rssi=rssi,
        ts=T0 + timedelta(seconds=second),
        received_at=T0,
        raw_payload=raw,
    )


async def test_a_gateway_is_registered_once_as_the_original_named_it(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ids = await uow.ingest.register_gateways(
            [
                sighting("AC:23:3F:C0:7D:A5", "AC:23:3F:C0:7D:A5", last_active_at=T0),
                sighting("ESP32-LOBBY", None, last_active_at=T0),
            ]
        )
        again = await uow.ingest.register_gateways(
            [sighting("AC:23:3F:C0:7D:A5", "AC:23:3F:C0:7D:A5", last_active_at=T0)]
        )
        await uow.commit()
    assert again["AC:23:3F:C0:7D:A5"] == ids["AC:23:3F:C0:7D:A5"]
    async with storage.unit_of_work() as uow:
        mac_gateway = await uow.devices.get(ids["AC:23:3F:C0:7D:A5"])
        named_gateway = await uow.devices.get(ids["ESP32-LOBBY"])
    assert mac_gateway is not None
    assert named_gateway is not None
    assert (mac_gateway.name, mac_gateway.code, mac_gateway.mac_address) == (
        "Gateway AC:23:3F:C0:7D:A5",
        "GW_AC233FC07DA5",
        "AC:23:3F:C0:7D:A5",
    )
    assert (named_gateway.name, named_gateway.code, named_gateway.mac_address) == (
        "Gateway ESP32-LOBBY",
        "GW_ESP32-LOBBY",
        None,
    )
    assert mac_gateway.last_seen_at == T0


async def test_last_seen_only_moves_forward_and_not_for_offline_reports(storage: Storage) -> None:
    key = "AC:23:3F:C0:7D:A5"
    async with storage.unit_of_work() as uow:
        ids = await uow.ingest.register_gateways([sighting(key, key, last_active_at=T0)])
        await uow.ingest.register_gateways(
            [sighting(key, key, last_active_at=T0 - timedelta(minutes=5))]
        )
        await uow.ingest.register_gateways(
            [sighting(key, key, last_offline_at=T0 + timedelta(minutes=5))]
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        gateway = await uow.devices.get(ids[key])
    assert gateway is not None
    assert gateway.last_seen_at == T0


async def test_tags_are_found_by_mac_and_registered_only_when_asked(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        known = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:01"))
        found = await uow.ingest.tag_ids(["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"], register=False)
        assert found == {"AA:BB:CC:DD:EE:01": known.id}
        registered = await uow.ingest.tag_ids(["AA:BB:CC:DD:EE:02"], register=True)
        await uow.commit()
    assert set(registered) == {"AA:BB:CC:DD:EE:02"}
    async with storage.unit_of_work() as uow:
        tag = await uow.tags.get_by_mac("AA:BB:CC:DD:EE:02")
    assert tag is not None
    assert tag.id == registered["AA:BB:CC:DD:EE:02"]


async def test_a_reading_is_stored_once_by_its_identity(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        gateway = (await uow.ingest.register_gateways([sighting("G", None)]))["G"]
        tag = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:01"))
        row = reading(gateway, tag.id, 0, -60)
        later = reading(gateway, tag.id, 1, -61, raw="{}")
        new = await uow.ingest.add_readings([row, later])
        assert sorted((r.tag_id, r.device_id, r.ts, r.rssi) for r in new) == [
            (tag.id, gateway, T0, -60),
            (tag.id, gateway, T0 + timedelta(seconds=1), -61),
        ]
        assert await uow.ingest.add_readings([row]) == []
        again = reading(gateway, tag.id, 2, -62)
        new = await uow.ingest.add_readings([later, again, again])  # stored, new, twice
        assert [(r.ts, r.rssi) for r in new] == [(again.ts, -62)]
        await uow.commit()
    async with storage.unit_of_work() as uow:
        stored = await uow.collection_logs.list(tag_id=tag.id)
    assert sorted((log.rssi, log.created_at) for log in stored) == [
        (-62, T0 + timedelta(seconds=2)),
        (-61, T0 + timedelta(seconds=1)),
        (-60, T0),
    ]


async def test_unknown_tags_accumulate_with_the_latest_gateway(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ids = await uow.ingest.register_gateways([sighting("A", None), sighting("B", None)])
        mac = "AA:BB:CC:DD:EE:99"
        await uow.ingest.record_unknown_tags(
            [UnknownTagSighting(mac=mac, device_id=ids["A"], rssi=-70, seen_at=T0, count=2)]
        )
        await uow.ingest.record_unknown_tags(
            [
                UnknownTagSighting(
                    mac=mac,
                    device_id=ids["B"],
                    rssi=-80,
                    seen_at=T0 - timedelta(minutes=1),
                    count=1,
                )
            ]
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        [unknown] = await uow.unknown_tags.list()
    assert unknown.mac_address == mac
    assert unknown.readings_count == 3
    assert unknown.last_device_id == ids["A"]
    assert unknown.last_rssi == -70
    assert unknown.first_seen_at == T0 - timedelta(minutes=1)
    assert unknown.last_seen_at == T0


async def test_each_transition_is_recorded_once(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        ids = await uow.ingest.register_gateways([sighting("G", None, last_active_at=T0)])
        gateway = ids["G"]
        assert await uow.ingest.apply_transitions([gateway], [], T0) == ([gateway], [])
        assert await uow.ingest.apply_transitions([gateway], [], T0) == ([], [])
        assert await uow.ingest.apply_transitions([], [gateway], T0) == ([], [gateway])
        assert await uow.ingest.apply_transitions([gateway], [], T0) == ([gateway], [])
        silent = await uow.ingest.mark_silent_offline(T0 + timedelta(seconds=1), T0)
        assert silent == [gateway]
        assert await uow.ingest.mark_silent_offline(T0 + timedelta(seconds=1), T0) == []
        await uow.commit()
    async with storage.unit_of_work() as uow:
        events = await uow.ingest.status_events()
        device = await uow.devices.get(gateway)
    assert [e.online for e in events] == [True, False, True, False]
    assert all(e.device_id == gateway for e in events)
    assert device is not None
    assert device.reported_online is False
    async with storage.unit_of_work() as uow:
        assert await uow.ingest.status_events(after_id=events[1].id) == events[2:]


async def test_a_redelivery_reuses_the_first_receipt_time_until_it_is_forgotten(
    storage: Storage,
) -> None:
    first, later = T0, T0 + timedelta(seconds=30)
    async with storage.unit_of_work() as uow:
        assert await uow.ingest.first_received({b"m1": (first, False)}) == {b"m1": first}
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.ingest.first_received({b"m1": (later, True)}) == {b"m1": first}
        assert await uow.ingest.first_received({b"m2": (later, True)}) == {b"m2": later}
        await uow.ingest.forget_receipts([b"m1"])
        assert await uow.ingest.first_received({b"m1": (later, True)}) == {b"m1": later}
        assert await uow.ingest.prune_receipts(T0 + timedelta(days=1)) == 2
        await uow.commit()


async def test_readings_added_first_in_a_unit_of_work_that_rolls_back_are_not_stored(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        gateway = (await uow.ingest.register_gateways([sighting("G", None)]))["G"]
        tag = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:01"))
        # From here on the day's partition exists (and is known to this process).
        await uow.ingest.add_readings([reading(gateway, tag.id, 0, -60)])
        await uow.commit()
    later = reading(gateway, tag.id, 1, -61)
    # Adding is the unit of work's first statement (as in an ingest lane), then it fails.
    async with storage.unit_of_work() as uow:
        assert await uow.ingest.add_readings([later]) == [later]
    async with storage.unit_of_work() as uow:
        stored = await uow.collection_logs.list(tag_id=tag.id)
    assert [log.created_at for log in stored] == [T0]

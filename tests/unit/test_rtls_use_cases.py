"""People, tags, devices and readings use cases on the in-memory adapters."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.collection_logs import ReadingDraft
from securityvision.application.devices import DeviceChanges
from securityvision.application.people import GroupDraft, PersonChanges, PersonDraft
from securityvision.application.tags import TagChanges, TagDraft
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import Device, DeviceType, NewDevice
from securityvision.domain.errors import Conflict, InvalidInput, NotFound
from securityvision.domain.rtls import CollectionLog, Tag
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


@pytest.fixture
def container(clock: FakeClock, storage: InMemoryStorage) -> Container:
    settings = load_settings(
        {"SVPOS_SECRET_KEY": "k" * 48, "DEVICE_OFFLINE_THRESHOLD_SECONDS": "60"}, env_file=None
    )
    return build_container(settings, storage=storage, clock=clock)


async def gateway(container: Container, name: str = "GW", **fields: object) -> Device:
    draft = msgspec.convert({"name": name} | fields, NewDevice)
    return await container.create_device().execute(draft)


async def tag(container: Container, mac: str = "AA:BB:CC:DD:EE:FF") -> Tag:
    return await container.create_tag().execute(TagDraft(mac_address=mac))


async def log(container: Container, device: Device, on: Tag, **fields: object) -> CollectionLog:
    draft = msgspec.convert(
        {"device_id": device.id, "tag_id": on.id, "rssi": -60} | fields, ReadingDraft
    )
    return await container.add_collection_log().execute(draft)


# --- people and groups ----------------------------------------------------------------------


async def test_a_person_is_created_in_the_groups_named_and_read_back_with_them(
    container: Container,
) -> None:
    night = await container.create_person_group().execute(GroupDraft(name="Night shift"))
    created = await container.create_person().execute(
        PersonDraft(full_name="  Ana Souza ", group_ids=(night.id,))
    )
    assert created.person.full_name == "Ana Souza"
    assert [g.name for g in created.groups] == ["Night shift"]
    assert await container.get_person().execute(created.person.id) == created


async def test_a_person_needs_a_name_and_groups_that_exist(container: Container) -> None:
    with pytest.raises(InvalidInput) as blank:
        await container.create_person().execute(PersonDraft(full_name="   "))
    with pytest.raises(NotFound) as missing:
        await container.create_person().execute(PersonDraft(full_name="Ana", group_ids=(999,)))
    assert blank.value.code == "full_name_required"
    assert missing.value.code == "person_group_not_found"
    assert await container.list_people().execute() == []


async def test_updating_only_the_groups_leaves_everything_else_as_it_was(
    container: Container,
) -> None:
    night = await container.create_person_group().execute(GroupDraft(name="Night"))
    day = await container.create_person_group().execute(GroupDraft(name="Day"))
    created = await container.create_person().execute(
        PersonDraft(full_name="Ana", document_id="123", notes="n", group_ids=(night.id,))
    )
    updated = await container.update_person().execute(
        created.person.id, PersonChanges(group_ids=(day.id, night.id))
    )
    assert updated.person == created.person
    assert [g.id for g in updated.groups] == [night.id, day.id]
    cleared = await container.update_person().execute(
        created.person.id, PersonChanges(group_ids=(), notes=None)
    )
    assert cleared.groups == ()
    assert cleared.person.notes is None
    assert cleared.person.document_id == "123"


async def test_a_failed_update_changes_nothing(container: Container) -> None:
    created = await container.create_person().execute(PersonDraft(full_name="Ana"))
    with pytest.raises(NotFound):
        await container.update_person().execute(
            created.person.id, PersonChanges(full_name="Bia", group_ids=(404,))
        )
    assert (await container.get_person().execute(created.person.id)).person.full_name == "Ana"


async def test_group_members_are_replaced_with_exactly_the_people_named(
    container: Container,
) -> None:
    group = await container.create_person_group().execute(GroupDraft(name="Contractors"))
    ana, bia, caio = [
        (await container.create_person().execute(PersonDraft(full_name=n))).person
        for n in ("Ana", "Bia", "Caio")
    ]
    await container.set_group_members().execute(group.id, [ana.id, bia.id])
    result = await container.set_group_members().execute(group.id, [caio.id, bia.id, bia.id])
    assert [p.person.id for p in result.people] == [bia.id, caio.id]
    assert [g.id for g in result.people[0].groups] == [group.id]
    with pytest.raises(NotFound) as caught:
        await container.set_group_members().execute(group.id, [ana.id, 777])
    assert caught.value.code == "person_not_found"
    members = await container.get_group_members().execute(group.id)
    assert [p.person.id for p in members.people] == [bia.id, caio.id]


async def test_missing_people_and_groups_answer_their_own_not_found_codes(
    container: Container,
) -> None:
    cases = [
        (container.get_person().execute(1), "person_not_found"),
        (container.delete_person().execute(1), "person_not_found"),
        (container.get_person_group().execute(1), "person_group_not_found"),
        (container.delete_person_group().execute(1), "person_group_not_found"),
        (container.get_group_members().execute(1), "person_group_not_found"),
    ]
    for call, code in cases:
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.code == code


# --- tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabbccddeeff", "AABB.CCDD.EEFF"]
)
async def test_a_tag_is_stored_and_found_by_any_spelling_of_its_mac(
    container: Container, spelling: str
) -> None:
    created = await container.create_tag().execute(TagDraft(mac_address=spelling))
    assert created.mac_address == "AA:BB:CC:DD:EE:FF"
    assert await container.find_tag_by_mac().execute("Aa-bB-cc-DD-ee-FF") == created


async def test_a_tag_mac_must_be_a_mac_and_be_free(container: Container) -> None:
    await tag(container)
    with pytest.raises(InvalidInput) as invalid:
        await container.create_tag().execute(TagDraft(mac_address="ESP32-LOBBY"))
    with pytest.raises(Conflict) as taken:
        await container.create_tag().execute(TagDraft(mac_address="aabbccddeeff"))
    with pytest.raises(InvalidInput) as lookup:
        await container.find_tag_by_mac().execute("nope")
    assert (invalid.value.code, taken.value.code, lookup.value.code) == (
        "invalid_mac",
        "tag_mac_taken",
        "invalid_mac",
    )


async def test_a_tag_can_only_be_given_to_someone_who_exists(container: Container) -> None:
    created = await tag(container)
    with pytest.raises(NotFound) as caught:
        await container.update_tag().execute(created.id, TagChanges(person_id=12345))
    assert caught.value.code == "person_not_found"
    ana = await container.create_person().execute(PersonDraft(full_name="Ana"))
    given = await container.update_tag().execute(
        created.id, TagChanges(person_id=ana.person.id, mac_address="aa-bb-cc-dd-ee-00")
    )
    assert (given.person_id, given.mac_address, given.label) == (
        ana.person.id,
        "AA:BB:CC:DD:EE:00",
        None,
    )


async def test_deleting_a_person_keeps_their_tags_unassigned(container: Container) -> None:
    ana = await container.create_person().execute(PersonDraft(full_name="Ana"))
    created = await container.create_tag().execute(
        TagDraft(mac_address="AA:BB:CC:DD:EE:FF", person_id=ana.person.id)
    )
    await container.delete_person().execute(ana.person.id)
    assert (await container.get_tag().execute(created.id)).person_id is None


# --- devices --------------------------------------------------------------------------------


async def test_a_device_mac_is_normalized_when_it_is_one_and_kept_when_it_is_an_id(
    container: Container,
) -> None:
    mac = await gateway(container, "A", mac_address="aa-bb-cc-00-11-22", code="  ")
    named = await gateway(container, "B", mac_address=" ESP32-LOBBY ")
    assert (mac.mac_address, mac.code) == ("AA:BB:CC:00:11:22", None)
    assert named.mac_address == "ESP32-LOBBY"
    with pytest.raises(Conflict) as caught:
        await gateway(container, "C", mac_address="AABBCC001122")
    assert caught.value.code == "device_mac_taken"


async def test_a_partial_update_changes_only_what_was_sent_and_null_clears(
    container: Container, clock: FakeClock
) -> None:
    device = await gateway(container, "GW", mac_address="11:22:33:44:55:66", pos_x=0.1)
    clock.advance(seconds=5)
    moved = await container.update_device().execute(
        device.id, DeviceChanges(floor_plan_id=None, pos_x=0.5, pos_y=0.25)
    )
    assert (moved.pos_x, moved.pos_y, moved.name, moved.mac_address) == (
        0.5,
        0.25,
        "GW",
        "11:22:33:44:55:66",
    )
    assert moved.updated_at == clock.now()
    removed = await container.update_device().execute(
        device.id, DeviceChanges(pos_x=None, pos_y=None)
    )
    assert (removed.pos_x, removed.pos_y) == (None, None)
    renamed = await container.update_device().execute(device.id, DeviceChanges(name="Lobby"))
    assert msgspec.structs.replace(renamed, name="GW", updated_at=removed.updated_at) == removed
    with pytest.raises(InvalidInput) as blank:
        await container.update_device().execute(device.id, DeviceChanges(name=" "))
    assert blank.value.code == "name_required"


async def test_status_tells_online_from_recent_activity_unless_reported_offline(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    now = clock.now()
    recent = await gateway(container, "recent", last_seen_at=now - timedelta(seconds=59))
    stale = await gateway(container, "stale", last_seen_at=now - timedelta(seconds=61))
    never = await gateway(container, "never")
    said_offline = await gateway(container, "said offline", last_seen_at=now)
    camera = await gateway(container, "cam", type="CAMERA", last_seen_at=now)
    storage.state.devices[said_offline.id] = msgspec.structs.replace(
        said_offline, reported_online=False
    )
    statuses = await container.list_device_statuses().execute()
    assert {s.name: s.is_online for s in statuses} == {
        "recent": True,
        "stale": False,
        "never": False,
        "said offline": False,
        "cam": True,
    }
    only = await container.list_device_statuses().execute(only_gateways=True)
    assert camera.id not in {s.id for s in only}
    assert {recent.id, stale.id, never.id} <= {s.id for s in only}


async def test_status_covers_every_device_and_changes_nothing(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    for i in range(150):
        await gateway(container, f"gw {i}", last_seen_at=clock.now() - timedelta(hours=i))
    before = storage.state.clone()
    clock.advance(minutes=10)
    statuses = await container.list_device_statuses().execute(only_gateways=True)
    assert len(statuses) == 150
    assert not any(s.is_online for s in statuses)
    assert storage.state == before


async def test_a_device_with_readings_is_deleted_only_with_its_history_on_request(
    container: Container,
) -> None:
    device = await gateway(container)
    worn = await tag(container)
    await log(container, device, worn)
    with pytest.raises(Conflict) as caught:
        await container.delete_device().execute(device.id)
    assert caught.value.code == "device_has_history"
    assert await container.get_device().execute(device.id) == device
    deletion = await container.delete_device().execute(device.id, purge_related=True)
    assert deletion.deleted_device_ids == (device.id,)
    assert deletion.readings_deleted == 1
    assert await container.list_collection_logs().execute() == []
    with pytest.raises(NotFound):
        await container.get_device().execute(device.id)


async def test_gateway_deletes_refuse_other_devices(container: Container) -> None:
    camera = await gateway(container, "cam", type="CAMERA", mac_address="11:22:33:44:55:66")
    with pytest.raises(InvalidInput) as by_id:
        await container.delete_device().execute(camera.id, gateways_only=True)
    with pytest.raises(InvalidInput) as by_mac:
        await container.delete_gateways_by_mac().execute("112233445566")
    with pytest.raises(NotFound) as nobody:
        await container.delete_gateways_by_mac().execute("11:22:33:44:55:00")
    assert by_id.value.code == by_mac.value.code == "not_a_gateway"
    assert nobody.value.code == "gateway_not_found"
    assert await container.get_device().execute(camera.id) == camera


async def test_a_gateway_is_deleted_by_any_spelling_of_its_mac(container: Container) -> None:
    device = await gateway(container, mac_address="AA:BB:CC:00:11:22")
    deletion = await container.delete_gateways_by_mac().execute(
        "aa-bb-cc-00-11-22", delete_all_matches=True
    )
    assert deletion.deleted_device_ids == (device.id,)
    assert await container.list_devices().execute() == []


# --- readings -------------------------------------------------------------------------------


async def test_a_reading_entered_by_hand_is_now_unless_timed_and_naive_times_are_utc(
    container: Container, clock: FakeClock
) -> None:
    device, worn = await gateway(container), await tag(container)
    now = await log(container, device, worn)
    naive = await log(container, device, worn, created_at="2026-11-28T10:00:00")
    assert (now.created_at, now.received_at) == (clock.now(), clock.now())
    assert naive.created_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    listed = await container.list_collection_logs().execute(
        from_ts=datetime(2026, 11, 28, 10), to_ts=datetime(2026, 11, 28, 10)
    )
    assert listed == [naive]


async def test_readings_are_checked_before_they_are_stored(
    container: Container, clock: FakeClock
) -> None:
    device, worn = await gateway(container), await tag(container)
    too_far = (clock.now() + timedelta(minutes=6)).isoformat()
    cases: list[tuple[dict[str, object], str]] = [
        ({"rssi": 25}, "invalid_rssi"),
        ({"raw_payload": "x" * 4097}, "raw_payload_too_long"),
        ({"created_at": too_far}, "future_timestamp"),
        ({"device_id": 999}, "device_not_found"),
        ({"tag_id": 999}, "tag_not_found"),
    ]
    for fields, code in cases:
        with pytest.raises((InvalidInput, NotFound)) as caught:
            await log(container, device, worn, **fields)
        assert caught.value.code == code
    assert await container.list_collection_logs().execute() == []
    await log(container, device, worn, raw_payload="x" * 4096)
    with pytest.raises(Conflict) as twice:
        await log(container, device, worn)
    assert twice.value.code == "reading_exists"


async def test_a_reading_is_read_and_deleted_by_id(container: Container) -> None:
    device, worn = await gateway(container), await tag(container)
    stored = await log(container, device, worn)
    assert await container.get_collection_log().execute(stored.id) == stored
    await container.delete_collection_log().execute(stored.id)
    with pytest.raises(NotFound) as caught:
        await container.get_collection_log().execute(stored.id)
    assert caught.value.code == "collection_log_not_found"


def test_devices_of_an_unknown_type_are_refused_at_the_boundary() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"name": "x", "type": "TOASTER"}, NewDevice)
    assert msgspec.convert({"name": "x"}, NewDevice).type is DeviceType.BLE_GATEWAY

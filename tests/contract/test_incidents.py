"""Camera events, credentials, camera groups, support groups, incident rules, incidents and
their timeline behave the same on every adapter."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from securityvision.application.ports import Storage
from securityvision.domain.cameras import NewCameraGroup, NewDeviceEvent
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.errors import Conflict, NotFound
from securityvision.domain.identity import NewUser, User
from securityvision.domain.incident_rules import NewIncidentRule, NewSupportGroup
from securityvision.domain.incidents import (
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncident,
    NewIncidentMessage,
    Severity,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def camera(storage: Storage, code: str = "fixa01") -> int:
    async with storage.unit_of_work() as uow:
        device = await uow.devices.add(NewDevice(name=code, code=code, type=DeviceType.CAMERA))
        await uow.commit()
    return device.id


async def user(storage: Storage, email: str) -> User:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(NewUser(email=email, full_name=email, hashed_password="x"))
        await uow.commit()
    return added


def event(device_id: int, event_id: str | None = "e-1", **extra: object) -> NewDeviceEvent:
    base = NewDeviceEvent(
        device_id=device_id,
        topic="rtls/cameras/default/a/t/camera/fixa01/faceCapture/events",
        analytic_type="faceCapture",
        payload={"EventID": event_id, "Meta": {"facesCount": 1}},
        occurred_at=T0,
        event_id=event_id,
    )
    return msgspec.structs.replace(base, **extra)


def incident(device_id: int, **extra: object) -> NewIncident:
    base = NewIncident(
        device_id=device_id,
        title="Face at the gate",
        kind="CAMERA_FACE",
        created_at=T0,
        sla_minutes=240,
        due_at=T0 + timedelta(minutes=240),
    )
    return msgspec.structs.replace(base, **extra)


async def test_a_device_event_reads_back_with_its_payload_as_an_object(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        added = await uow.device_events.add(event(device_id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.device_events.get(added.id)
    assert found == added
    assert found.payload == {"EventID": "e-1", "Meta": {"facesCount": 1}}
    assert (found.incident_id, found.event_id) == (None, "e-1")


async def test_a_cameras_event_is_unique_by_analytic_type_and_event_id(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        await uow.device_events.add(event(device_id))
        # The recognition repeats the capture's EventID under another analytic type.
        await uow.device_events.add(event(device_id, analytic_type="faceRecognized"))
        # Without an id, events never collide.
        await uow.device_events.add(event(device_id, event_id=None))
        await uow.device_events.add(event(device_id, event_id=None))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.device_events.add(event(device_id))
    assert caught.value.code == "device_event_exists"
    async with storage.unit_of_work() as uow:
        with pytest.raises(NotFound) as missing:
            await uow.device_events.add(event(device_id + 1000))
    assert missing.value.code == "device_not_found"


async def test_camera_events_list_newest_first_and_by_sighting(storage: Storage) -> None:
    device_id = await camera(storage)
    other = await camera(storage, "other")
    async with storage.unit_of_work() as uow:
        old = await uow.device_events.add(event(device_id, "a", occurred_at=T0))
        new = await uow.device_events.add(event(device_id, "b", occurred_at=T0 + timedelta(1)))
        same = await uow.device_events.add(
            event(device_id, "a", analytic_type="faceRecognized", occurred_at=T0)
        )
        await uow.device_events.add(event(other, "a"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        listed = await uow.device_events.list_for_device(device_id, limit=10)
        limited = await uow.device_events.list_for_device(device_id, limit=1)
        sighting = await uow.device_events.with_event_id(device_id, "a")
    assert [e.id for e in listed] == [new.id, same.id, old.id]
    assert [e.id for e in limited] == [new.id]
    assert [e.id for e in sighting] == [old.id, same.id]


async def test_a_cameras_password_is_kept_apart_from_the_device(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        assert await uow.device_secrets.password(device_id) is None
        await uow.device_secrets.set_password(device_id, b"ciphertext")
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.device_secrets.password(device_id) == b"ciphertext"
        device = await uow.devices.get(device_id)
        assert device is not None
        assert b"ciphertext" not in msgspec.json.encode(device)
        await uow.device_secrets.set_password(device_id, None)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.device_secrets.password(device_id) is None


async def test_camera_groups_keep_their_devices_and_unique_names(storage: Storage) -> None:
    first, second = await camera(storage, "c1"), await camera(storage, "c2")
    async with storage.unit_of_work() as uow:
        group = await uow.camera_groups.add(NewCameraGroup(name="Gates", tenant="default"))
        await uow.camera_groups.set_devices(group.id, [second, first, first])
        other = await uow.camera_groups.add(NewCameraGroup(name="Docks"))
        await uow.camera_groups.set_devices(other.id, [second])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.camera_groups.get(group.id)
        assert found is not None
        assert found.device_ids == (first, second)
        assert await uow.camera_groups.groups_of_device(second) == [group.id, other.id]
        assert [g.name for g in await uow.camera_groups.list()] == ["Gates", "Docks"]
        renamed = await uow.camera_groups.update(msgspec.structs.replace(found, name="Portões"))
        assert (renamed.name, renamed.device_ids) == ("Portões", (first, second))
        with pytest.raises(Conflict) as caught:
            await uow.camera_groups.add(NewCameraGroup(name="Docks"))
    assert caught.value.code == "camera_group_name_taken"


async def test_deleting_a_camera_group_takes_the_rules_scoped_to_it(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        group = await uow.camera_groups.add(NewCameraGroup(name="Gates"))
        await uow.camera_groups.set_devices(group.id, [device_id])
        scoped = await uow.incident_rules.add(
            NewIncidentRule(name="gates", analytic_type="VMD", camera_group_id=group.id)
        )
        kept = await uow.incident_rules.add(NewIncidentRule(name="any", analytic_type="VMD"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.camera_groups.delete(group.id)
        assert not await uow.camera_groups.delete(group.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.incident_rules.get(scoped.id) is None
        assert await uow.incident_rules.get(kept.id) is not None
        assert await uow.camera_groups.groups_of_device(device_id) == []
        assert await uow.devices.get(device_id) is not None


async def test_support_groups_keep_members_and_unique_names(storage: Storage) -> None:
    ana, bia = await user(storage, "ana@x.io"), await user(storage, "bia@x.io")
    async with storage.unit_of_work() as uow:
        group = await uow.support_groups.add(
            NewSupportGroup(name="NOC", default_sla_minutes=30, chatwoot_team_id=4)
        )
        await uow.support_groups.set_members(group.id, [bia.id, ana.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.support_groups.get(group.id)
        assert found is not None
        assert (found.member_ids, found.default_sla_minutes) == ((ana.id, bia.id), 30)
        assert await uow.support_groups.groups_of_user(ana.id) == [group.id]
        assert [g.id for g in await uow.support_groups.get_many([group.id, 999])] == [group.id]
        changed = await uow.support_groups.update(msgspec.structs.replace(found, is_active=False))
        assert (changed.is_active, changed.member_ids) == (False, (ana.id, bia.id))
        with pytest.raises(Conflict) as caught:
            await uow.support_groups.add(NewSupportGroup(name="NOC"))
    assert caught.value.code == "support_group_name_taken"


async def test_deleting_a_user_removes_their_memberships_and_assignments(
    storage: Storage,
) -> None:
    device_id = await camera(storage)
    ana, bia = await user(storage, "ana@x.io"), await user(storage, "bia@x.io")
    async with storage.unit_of_work() as uow:
        group = await uow.support_groups.add(NewSupportGroup(name="NOC"))
        await uow.support_groups.set_members(group.id, [ana.id, bia.id])
        opened = await uow.incidents.add(
            incident(device_id, assigned_to_user_id=ana.id, created_by_user_id=ana.id)
        )
        await uow.incidents.set_assignees(opened.id, [ana.id, bia.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.users.delete(ana.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found_group = await uow.support_groups.get(group.id)
        found = await uow.incidents.get(opened.id)
        assignees = await uow.incidents.assignees([opened.id])
    assert found_group is not None
    assert found_group.member_ids == (bia.id,)
    assert found is not None
    assert (found.assigned_to_user_id, found.created_by_user_id) == (None, None)
    assert [u.id for u in assignees[opened.id]] == [bia.id]


async def test_incident_rules_are_listed_by_analytic_type_when_enabled(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        capture = await uow.incident_rules.add(
            NewIncidentRule(
                name="capture",
                analytic_type="faceCapture",
                device_id=device_id,
                severity=Severity.HIGH,
                title_template="{camera_name}",
            )
        )
        off = await uow.incident_rules.add(
            NewIncidentRule(name="off", analytic_type="faceCapture", enabled=False)
        )
        await uow.incident_rules.add(NewIncidentRule(name="vmd", analytic_type="VMD"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.incident_rules.for_analytic_type("faceCapture") == [capture]
        assert await uow.incident_rules.for_analytic_type("facecapture") == []
        updated = await uow.incident_rules.update(msgspec.structs.replace(off, enabled=True))
        assert updated.enabled
        assert [r.name for r in await uow.incident_rules.list()] == ["capture", "off", "vmd"]
        with pytest.raises(NotFound) as caught:
            await uow.incident_rules.add(
                NewIncidentRule(name="x", analytic_type="VMD", assigned_group_id=999)
            )
    assert caught.value.code == "support_group_not_found"


async def test_an_incident_reads_back_with_every_field(storage: Storage) -> None:
    device_id = await camera(storage)
    ana = await user(storage, "ana@x.io")
    async with storage.unit_of_work() as uow:
        stored_event = await uow.device_events.add(event(device_id))
        group = await uow.support_groups.add(NewSupportGroup(name="NOC"))
        rule = await uow.incident_rules.add(NewIncidentRule(name="r", analytic_type="faceCapture"))
        draft = incident(
            device_id,
            device_event_id=stored_event.id,
            tenant="default",
            severity=Severity.HIGH,
            description="d",
            assigned_to_user_id=ana.id,
            assigned_group_id=group.id,
            created_by_user_id=ana.id,
            chatwoot_conversation_id=77,
            rule_id=rule.id,
            person_key="card:123",
            last_event_at=T0,
            person_name="Ana",
            confidence=0.93,
        )
        added = await uow.incidents.add(draft)
        await uow.device_events.set_incident(stored_event.id, added.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.incidents.get(added.id) == added
        assert await uow.incidents.get_for_update(added.id) == added
        assert await uow.incidents.for_device_event(stored_event.id) == added
        linked = await uow.device_events.get(stored_event.id)
    assert linked is not None
    assert linked.incident_id == added.id
    stored = msgspec.structs.asdict(added)
    assert {k: stored[k] for k in draft.__struct_fields__} == msgspec.structs.asdict(draft)
    assert (added.status, added.updated_at) == (IncidentStatus.OPEN, T0)


async def test_one_device_event_has_at_most_one_incident(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        stored_event = await uow.device_events.add(event(device_id))
        await uow.incidents.add(incident(device_id, device_event_id=stored_event.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            await uow.incidents.add(incident(device_id, device_event_id=stored_event.id))
    assert caught.value.code == "incident_exists"


async def test_incident_lists_filter_before_paging_newest_first(storage: Storage) -> None:
    first, second = await camera(storage, "c1"), await camera(storage, "c2")
    async with storage.unit_of_work() as uow:
        ids = []
        for device_id, status in [
            (first, IncidentStatus.OPEN),
            (second, IncidentStatus.OPEN),
            (first, IncidentStatus.RESOLVED),
            (first, IncidentStatus.IN_PROGRESS),
        ]:
            closed = None if status.is_active else T0
            added = await uow.incidents.add(incident(device_id, status=status, closed_at=closed))
            ids.append(added.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        everything = await uow.incidents.list()
        open_first = await uow.incidents.list(only_open=True, device_id=first)
        page = await uow.incidents.list(only_open=True, device_id=first, skip=1, limit=1)
    assert [i.id for i in everything] == ids[::-1]
    assert [i.id for i in open_first] == [ids[3], ids[0]]
    assert [i.id for i in page] == [ids[0]]


async def test_my_incidents_are_mine_my_groups_or_nobodys(storage: Storage) -> None:
    device_id = await camera(storage)
    me, other = await user(storage, "me@x.io"), await user(storage, "other@x.io")
    async with storage.unit_of_work() as uow:
        mine_group = await uow.support_groups.add(NewSupportGroup(name="mine"))
        await uow.support_groups.set_members(mine_group.id, [me.id])
        their_group = await uow.support_groups.add(NewSupportGroup(name="theirs"))
        to_me = await uow.incidents.add(incident(device_id, assigned_to_user_id=me.id))
        as_assignee = await uow.incidents.add(incident(device_id, assigned_to_user_id=other.id))
        await uow.incidents.set_assignees(as_assignee.id, [me.id])
        to_my_group = await uow.incidents.add(incident(device_id, assigned_group_id=mine_group.id))
        nobodys = await uow.incidents.add(incident(device_id))
        await uow.incidents.add(incident(device_id, assigned_to_user_id=other.id))
        await uow.incidents.add(incident(device_id, assigned_group_id=their_group.id))
        only_assignees = await uow.incidents.add(incident(device_id))
        await uow.incidents.set_assignees(only_assignees.id, [other.id])
        closed = await uow.incidents.add(
            incident(device_id, status=IncidentStatus.CANCELED, closed_at=T0)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        mine = await uow.incidents.list_for_user(me.id)
        mine_open = await uow.incidents.list_for_user(me.id, only_open=True, limit=2)
    expected = [closed.id, nobodys.id, to_my_group.id, as_assignee.id, to_me.id]
    assert [i.id for i in mine] == expected
    assert [i.id for i in mine_open] == [nobodys.id, to_my_group.id]


async def test_the_cooldown_finds_the_open_incident_of_a_camera_rule_and_person(
    storage: Storage,
) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        rule = await uow.incident_rules.add(NewIncidentRule(name="r", analytic_type="faceCapture"))
        wanted = await uow.incidents.add(
            incident(device_id, rule_id=rule.id, person_key="unknown", last_event_at=T0)
        )
        await uow.incidents.add(
            incident(device_id, rule_id=rule.id, person_key="card:1", last_event_at=T0)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        since = T0 - timedelta(seconds=60)
        found = await uow.incidents.open_for_cooldown(
            device_id=device_id, rule_id=rule.id, person_key="unknown", since=since
        )
        too_late = await uow.incidents.open_for_cooldown(
            device_id=device_id,
            rule_id=rule.id,
            person_key="unknown",
            since=T0 + timedelta(seconds=1),
        )
        assert found == wanted
        assert too_late is None
        await uow.incidents.update(
            msgspec.structs.replace(wanted, status=IncidentStatus.RESOLVED, closed_at=T0)
        )
        closed = await uow.incidents.open_for_cooldown(
            device_id=device_id, rule_id=rule.id, person_key="unknown", since=since
        )
    assert closed is None


async def test_assignees_are_replaced_and_read_with_their_names(storage: Storage) -> None:
    device_id = await camera(storage)
    ana, bia = await user(storage, "ana@x.io"), await user(storage, "bia@x.io")
    async with storage.unit_of_work() as uow:
        opened = await uow.incidents.add(incident(device_id))
        await uow.incidents.set_assignees(opened.id, [bia.id, ana.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        both = await uow.incidents.assignees([opened.id])
        await uow.incidents.set_assignees(opened.id, [bia.id])
        one = await uow.incidents.assignees([opened.id, 999])
        with pytest.raises(NotFound):
            await uow.incidents.set_assignees(opened.id, [999])
    assert [u.email for u in both[opened.id]] == ["ana@x.io", "bia@x.io"]
    assert list(one) == [opened.id]
    assert [u.id for u in one[opened.id]] == [bia.id]


async def test_incidents_assigned_to_a_group_are_counted(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        group = await uow.support_groups.add(NewSupportGroup(name="NOC"))
        await uow.incidents.add(incident(device_id, assigned_group_id=group.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.incidents.count_for_group(group.id) == 1
        assert await uow.incidents.count_for_group(group.id + 1) == 0


async def test_the_timeline_reads_oldest_first_after_an_id(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        opened = await uow.incidents.add(incident(device_id))
        other = await uow.incidents.add(incident(device_id))
        messages = [
            await uow.incident_messages.add(
                NewIncidentMessage(
                    incident_id=opened.id,
                    message_type=MessageType.COMMENT,
                    content=f"m{n}",
                    author_name="Ana",
                )
            )
            for n in range(4)
        ]
        media = await uow.incident_messages.add(
            NewIncidentMessage(
                incident_id=other.id,
                message_type=MessageType.MEDIA,
                content="snapshot",
                media_type=MediaType.IMAGE,
                media_url="/media/incidents/" + "0" * 64 + ".jpg",
                media_name="snap.jpg",
            )
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        everything = await uow.incident_messages.list(opened.id)
        after = await uow.incident_messages.list(opened.id, after_id=messages[1].id, limit=1)
        theirs = await uow.incident_messages.list(other.id)
        with pytest.raises(NotFound):
            await uow.incident_messages.add(
                NewIncidentMessage(
                    incident_id=999_999, message_type=MessageType.TEXT, content="lost"
                )
            )
    assert everything == messages
    assert after == [messages[2]]
    assert theirs == [media]


async def test_deleting_a_camera_takes_its_events_incidents_and_rules(storage: Storage) -> None:
    device_id = await camera(storage)
    async with storage.unit_of_work() as uow:
        stored_event = await uow.device_events.add(event(device_id))
        opened = await uow.incidents.add(incident(device_id, device_event_id=stored_event.id))
        await uow.incident_messages.add(
            NewIncidentMessage(incident_id=opened.id, message_type=MessageType.TEXT, content="x")
        )
        rule = await uow.incident_rules.add(
            NewIncidentRule(name="cam", analytic_type="VMD", device_id=device_id)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.delete(device_id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.device_events.get(stored_event.id) is None
        assert await uow.incidents.get(opened.id) is None
        assert await uow.incident_rules.get(rule.id) is None

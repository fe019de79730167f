"""The access-control publications as the controllers read them: topics, envelope, payloads,
UTC times, escaped topic levels, projection ids that never collide, and the outbox backoff."""

import json
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from securityvision.domain.access_control import (
    AccessControlTopics,
    Entity,
    Event,
    ProjectionSource,
    deleted_payload,
    device_payload,
    device_user_payload,
    location_payload,
    location_rule_payload,
    projection_id,
    projection_payload,
    projection_removed,
    topic_segment,
    user_payload,
    utc_iso,
    weekdays,
)
from securityvision.domain.devices import Device, DeviceType
from securityvision.domain.outbox import Backoff, error_summary
from securityvision.domain.people import Person

SAO_PAULO = timezone(timedelta(hours=-3))
T0 = datetime(2026, 11, 29, 9, 30, tzinfo=SAO_PAULO)  # 12:30 UTC
TOPICS = AccessControlTopics(
    base_topic="security-vision/access-control",
    projection_topic="security-vision/access-control/locations",
    tenant="default",
)


def decoded(payload: bytes) -> Any:
    return json.loads(payload)


def test_entity_topics_are_base_tenant_entity_and_event() -> None:
    assert [TOPICS.entity_topic(entity, Event.CREATED) for entity in Entity] == [
        "security-vision/access-control/default/locations/created",
        "security-vision/access-control/default/locations-rules/created",
        "security-vision/access-control/default/users/created",
        "security-vision/access-control/default/devices/created",
        "security-vision/access-control/default/device-users/created",
    ]
    assert TOPICS.entity_topic(Entity.USER, Event.DELETED).endswith("/users/deleted")


def test_a_publication_is_the_original_envelope_qos_1_and_retained() -> None:
    publication = TOPICS.entity(Entity.DEVICE_USER, Event.UPDATED, {"device_id": 3})
    assert publication.topic == "security-vision/access-control/default/device-users/updated"
    assert (publication.qos, publication.retain) == (1, True)
    body = decoded(publication.payload)
    assert list(body) == ["event", "entity", "source", "payload"]
    assert body == {
        "event": "updated",
        "entity": "device_user",
        "source": "central-backend",
        "payload": {"device_id": 3},
    }


def test_envelope_entity_names_are_the_originals() -> None:
    names = {e: decoded(TOPICS.entity(e, Event.CREATED, {}).payload)["entity"] for e in Entity}
    assert names == {
        Entity.LOCATION: "location",
        Entity.LOCATION_RULE: "location_rule",
        Entity.USER: "user",
        Entity.DEVICE: "device",
        Entity.DEVICE_USER: "device_user",
    }


def test_the_projection_goes_bare_to_its_own_topic() -> None:
    publication = TOPICS.projection({"location_id": 1})
    assert publication.topic == "security-vision/access-control/locations"
    assert decoded(publication.payload) == {"location_id": 1}
    assert publication.retain


def test_the_tenant_keeps_the_originals_spelling() -> None:
    assert topic_segment("Acme Corp", "default") == "acme_corp"
    assert topic_segment("north/south", "default") == "north-south"
    assert topic_segment("  ", "default") == "default"
    assert topic_segment(None, "default") == "default"


@given(st.text(max_size=40))
def test_no_name_can_add_a_level_or_a_wildcard_to_a_topic(name: str) -> None:
    segment = topic_segment(name, "default")
    assert segment
    assert not set(segment) & {"/", "+", "#", "\x00"}


def test_a_tenant_with_wildcards_stays_one_level_of_a_valid_topic() -> None:
    topics = AccessControlTopics(tenant="a+b#c/d")
    topic = topics.entity_topic(Entity.USER, Event.CREATED)
    assert topic == "security-vision/access-control/a%2Bb%23c-d/users/created"
    assert len(topic.split("/")) == 5


def test_times_are_utc_with_an_explicit_offset() -> None:
    assert utc_iso(T0) == "2026-11-29T12:30:00+00:00"
    assert utc_iso(datetime(2026, 11, 29, 12, 30)) == "2026-11-29T12:30:00+00:00"
    assert utc_iso(None) is None


def person(**fields: Any) -> Person:
    values: dict[str, Any] = {
        "id": 7,
        "full_name": "Ana Souza",
        "document_id": "123.456.789-00",
        "email": "ana@example.com",
        "phone": "+55 11 99999-0000",
        "user_type": 2,
        "active": True,
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=5),
    }
    return Person(**(values | fields))


def test_a_user_is_the_person_with_document_as_cpf_and_utc_times() -> None:
    assert user_payload(person()) == {
        "id": 7,
        "email": "ana@example.com",
        "full_name": "Ana Souza",
        "document_id": "123.456.789-00",
        "cpf": "123.456.789-00",
        "phone": "+55 11 99999-0000",
        "user_type": 2,
        "is_active": True,
        "created_at": "2026-11-29T12:30:00+00:00",
        "updated_at": "2026-11-29T12:35:00+00:00",
    }


def test_a_users_missing_fields_are_sent_as_the_original_sent_them() -> None:
    payload = user_payload(person(document_id=None, phone=None, user_type=None, active=False))
    assert (payload["document_id"], payload["cpf"], payload["phone"]) == ("", "", "")
    assert payload["user_type"] == "UNKNOWN"
    assert payload["is_active"] is False


def device(**fields: Any) -> Device:
    values: dict[str, Any] = {
        "id": 4,
        "name": "Catraca 1",
        "type": DeviceType.ACCESS_CONTROLLER,
        "description": "lobby turnstile",
        "code": "CAT-1",
        "mac_address": "AA:BB:CC:00:00:04",
        "ip_address": "10.0.0.4",
        "port": 8080,
        "username": "admin",
        "building_id": 1,
        "floor_id": 2,
        "location_id": 9,
        "manufacturer": "Control iD",
        "analytics": ("faceCapture",),
        "created_at": T0,
        "updated_at": T0,
    }
    return Device(**(values | fields))


def test_a_device_has_the_originals_fields_and_no_credentials() -> None:
    assert device_payload(device()) == {
        "id": 4,
        "name": "Catraca 1",
        "type": "ACCESS_CONTROLLER",
        "description": "lobby turnstile",
        "code": "CAT-1",
        "mac_address": "AA:BB:CC:00:00:04",
        "ip_address": "10.0.0.4",
        "port": 8080,
        "username": "admin",
        "building_id": 1,
        "floor_id": 2,
        "brand": "Control iD",
        "category": "ACCESS_CONTROLLER",
        "serialNumber": "CAT-1",
        "config": ["faceCapture"],
        "locationId": 9,
        "created_at": "2026-11-29T12:30:00+00:00",
        "updated_at": "2026-11-29T12:30:00+00:00",
    }
    assert "password" not in device_payload(device())


def test_a_devices_serial_falls_back_to_its_mac_and_its_location_to_its_floors() -> None:
    payload = device_payload(device(code=None, location_id=None, analytics=()), location_id=12)
    assert payload["serialNumber"] == "AA:BB:CC:00:00:04"
    assert payload["locationId"] == 12
    assert payload["config"] == {}
    assert device_payload(device(location_id=9), location_id=12)["locationId"] == 9


def test_a_location_has_a_boolean_status_its_floors_and_utc_times() -> None:
    payload = location_payload(
        location_id=3,
        name="Data centre",
        description=None,
        status="ACTIVE",
        floor_ids=(5, 2),
        created_at=T0,
        updated_at=T0,
    )
    assert payload == {
        "id": 3,
        "name": "Data centre",
        "description": None,
        "status": True,
        "floor_ids": [5, 2],
        "created_at": "2026-11-29T12:30:00+00:00",
        "updated_at": "2026-11-29T12:30:00+00:00",
    }
    inactive = location_payload(
        location_id=3,
        name="x",
        description=None,
        status="INACTIVE",
        floor_ids=(),
        created_at=None,
        updated_at=None,
    )
    assert inactive["status"] is False


def test_a_rule_has_integer_days_and_wall_clock_times() -> None:
    payload = location_rule_payload(
        rule_id=8,
        location_id=3,
        capacity=20,
        available_days="1, 2,x,5",
        start_time=time(22, 0),
        end_time=time(6, 0),
        status="ACTIVE",
        validate=True,
        created_at=T0,
        updated_at=T0,
    )
    assert payload == {
        "id": 8,
        "location_id": 3,
        "capacity": 20,
        "avaliable_days": [1, 2, 5],
        "start_time": "22:00:00",
        "end_time": "06:00:00",
        "status": "ACTIVE",
        "validate": True,
        "created_at": "2026-11-29T12:30:00+00:00",
        "updated_at": "2026-11-29T12:30:00+00:00",
    }
    assert weekdays(None) == []
    assert weekdays([3, 4]) == [3, 4]


def test_a_device_user_keeps_the_originals_spelling_and_adds_its_id() -> None:
    assert device_user_payload(
        link_id=11, device_id=4, person_id=7, device_user_id="u-77", status="ACTIVE"
    ) == {"id": 11, "device_id": 4, "person_id": 7, "deviceUserId": "u-77", "status": "ACTIVE"}


def test_a_deletion_carries_the_id_and_when() -> None:
    assert deleted_payload(7, T0) == {"id": 7, "deleted_at": "2026-11-29T12:30:00+00:00"}
    assert deleted_payload(11, T0, device_id=4) == {
        "id": 11,
        "device_id": 4,
        "deleted_at": "2026-11-29T12:30:00+00:00",
    }


def test_the_projection_names_building_floor_and_environment() -> None:
    payload = projection_payload(
        source=ProjectionSource.FLOOR_PLAN,
        source_id=6,
        environment="Ala Norte",
        building_id=1,
        building_name="Torre A",
        floor_id=2,
        floor_name="Térreo",
    )
    assert payload == {
        "location_id": -6,
        "name": "Torre A - Térreo - Ala Norte",
        "source": "floor_plan",
        "source_id": 6,
        "building_id": 1,
        "building_name": "Torre A",
        "floor_id": 2,
        "floor_name": "Térreo",
    }


@given(st.integers(1, 2**63 - 1), st.integers(1, 2**63 - 1))
def test_projection_ids_of_locations_and_floor_plans_never_collide(
    location: int, plan: int
) -> None:
    assert projection_id(ProjectionSource.LOCATION, location) != projection_id(
        ProjectionSource.FLOOR_PLAN, plan
    )


def test_a_location_keeps_its_own_id_in_the_projection() -> None:
    assert projection_id(ProjectionSource.LOCATION, 7) == 7
    assert projection_id(ProjectionSource.FLOOR_PLAN, 7) == -7


def test_a_removed_environment_has_the_same_keys_and_says_deleted() -> None:
    removed = projection_removed(ProjectionSource.LOCATION, 3)
    kept = projection_payload(
        source=ProjectionSource.LOCATION,
        source_id=3,
        environment="e",
        building_id=1,
        building_name="b",
        floor_id=2,
        floor_name="f",
    )
    assert set(removed) == set(kept) | {"deleted"}
    assert removed["deleted"] is True
    assert (removed["location_id"], removed["source_id"], removed["name"]) == (3, 3, None)


def test_backoff_doubles_from_the_first_delay_up_to_the_limit() -> None:
    backoff = Backoff(first=timedelta(seconds=2), limit=timedelta(seconds=30))
    delays = [backoff.delay(n).total_seconds() for n in range(1, 7)]
    assert delays == [2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == timedelta(seconds=30)


def test_a_stored_error_is_one_bounded_line() -> None:
    summary = error_summary(ConnectionError("refused\nsecond line " + "x" * 1000))
    assert summary.startswith("ConnectionError: refused")
    assert "second line" not in summary
    assert len(summary) <= 500
    assert error_summary(TimeoutError()) == "TimeoutError"


def test_times_of_any_zone_become_the_same_utc_text() -> None:
    same_instant = T0.astimezone(UTC)
    assert utc_iso(same_instant) == utc_iso(T0)


def test_payloads_are_utf8_json_without_escaped_accents_as_the_original_sent_them() -> None:
    publication = TOPICS.entity(Entity.USER, Event.CREATED, {"name": "João"})
    assert "João".encode() in publication.payload
    assert decoded(publication.payload)["payload"] == {"name": "João"}

"""securityvision.codecs: a topic and bytes, as a service receives them, into what the use
cases take; the shared fixtures decode as the worker decodes them."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from securityvision.codecs import camera_message, gateway_delivery
from securityvision.domain import Rejection
from securityvision.usecases import CameraMessage, Delivery
from tests.support.rtls import SHARED_FIXTURES

NOW = datetime(2026, 11, 29, 10, 5, 30, tzinfo=UTC)


def fixture(kind: str, name: str, suffix: str = ".json") -> tuple[str, bytes]:
    folder: Path = SHARED_FIXTURES / kind
    return (folder / f"{name}.topic").read_text().strip(), (folder / f"{name}{suffix}").read_bytes()


def test_a_gateway_report_becomes_a_delivery_with_its_readings() -> None:
    topic, payload = fixture("gateways", "readings")
    delivery = gateway_delivery(topic, payload, received_at=NOW)
    assert isinstance(delivery, Delivery)
    assert delivery.message.gateway_key == "AC:23:3F:C0:7D:A5"
    assert [o.tag_mac for o in delivery.message.observations] == [
        "AA:BB:CC:DD:EE:01",
        "AA:BB:CC:DD:EE:02",
        "AA:BB:CC:DD:EE:03",
    ]
    assert (delivery.received_at, delivery.redelivered) == (NOW, False)


def test_each_reception_has_a_fingerprint_of_its_own_unless_one_is_given() -> None:
    topic, payload = fixture("gateways", "readings")
    first = gateway_delivery(topic, payload, received_at=NOW)
    same = gateway_delivery(topic, payload, received_at=NOW)
    later = gateway_delivery(topic, payload, received_at=NOW + timedelta(seconds=1))
    given = gateway_delivery(topic, payload, received_at=NOW, fingerprint=b"x", redelivered=True)
    assert isinstance(first, Delivery)
    assert isinstance(same, Delivery)
    assert isinstance(later, Delivery)
    assert isinstance(given, Delivery)
    assert first.fingerprint == same.fingerprint != later.fingerprint
    assert (given.fingerprint, given.redelivered) == (b"x", True)


def test_a_topic_outside_the_prefix_is_a_rejection_not_an_error() -> None:
    _, payload = fixture("gateways", "readings")
    rejected = gateway_delivery("elsewhere/AC233FC07DA5", payload, received_at=NOW)
    assert isinstance(rejected, Rejection)
    assert rejected.reason == "unknown_topic"
    moved = gateway_delivery("site/gw/AC233FC07DA5", payload, received_at=NOW, prefix="site/gw")
    assert isinstance(moved, Delivery)


def test_a_bad_reading_is_listed_and_keeps_its_neighbours() -> None:
    payload = b'{"readings": [{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60}, {"rssi": -1}]}'
    delivery = gateway_delivery("rtls/gateways/AC233FC07DA5", payload, received_at=NOW)
    assert isinstance(delivery, Delivery)
    assert len(delivery.message.observations) == 1
    assert [r.reason for r in delivery.message.rejections] == ["invalid_mac"]


def test_a_face_capture_becomes_a_camera_event_of_its_camera() -> None:
    topic, payload = fixture("cambus", "face_capture")
    message = camera_message(topic, payload, received_at=NOW)
    assert isinstance(message, CameraMessage)
    assert message.camera_code == "fixa01"
    assert message.event is not None
    assert message.event.analytic_type == "faceCapture"
    assert message.event.occurred_at == datetime(2026, 11, 29, 10, 5, 12, tzinfo=UTC)
    assert message.status is None


def test_a_camera_status_becomes_a_status_of_its_camera() -> None:
    topic, payload = fixture("cambus", "camera_status")
    message = camera_message(topic, payload, received_at=NOW)
    assert isinstance(message, CameraMessage)
    assert message.status is not None
    assert (message.camera_code, message.status.status) == ("fixa01", "online")


def test_what_there_is_nothing_to_store_of_is_none_and_garbage_a_rejection() -> None:
    topic, payload = fixture("cambus", "collector_status")
    assert camera_message(topic, payload, received_at=NOW) is None
    event_topic, _ = fixture("cambus", "face_capture")
    garbage = camera_message(event_topic, b"not json", received_at=NOW)
    assert isinstance(garbage, Rejection)
    assert garbage.reason == "undecodable"
    elsewhere = camera_message("other/topic", b"{}", received_at=NOW)
    assert isinstance(elsewhere, Rejection)


def test_a_time_without_a_zone_is_refused_at_once() -> None:
    topic, payload = fixture("gateways", "readings")
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway_delivery(topic, payload, received_at=datetime(2026, 11, 29))
    with pytest.raises(ValueError, match="timezone-aware"):
        camera_message(topic, payload, received_at=datetime(2026, 11, 29))

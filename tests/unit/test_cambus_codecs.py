"""cam-bus's own messages (the shared fixtures) decode as cam-bus means them."""

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.adapters.mqtt.cambus import (
    CambusTopic,
    decode_analytic_event,
    decode_camera_status,
    decode_uplink_status,
    parse_cambus_topic,
)
from securityvision.domain.cambus import AnalyticEvent, CameraStatus, UplinkStatus
from securityvision.domain.rtls import Rejection
from tests.support.rtls import SHARED_FIXTURES

CAMBUS = SHARED_FIXTURES / "cambus"
BASE = "rtls/cameras"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def fixture(name: str) -> tuple[str, bytes]:
    return (CAMBUS / f"{name}.topic").read_text().strip(), (CAMBUS / f"{name}.json").read_bytes()


def event(name: str) -> AnalyticEvent:
    topic, payload = fixture(name)
    parsed = parse_cambus_topic(topic, BASE)
    assert isinstance(parsed, CambusTopic)
    assert parsed.kind == "event"
    decoded = decode_analytic_event(parsed, payload, NOW)
    assert isinstance(decoded, AnalyticEvent)
    return decoded


def test_a_face_capture_carries_its_place_time_and_snapshot() -> None:
    capture = event("face_capture")
    assert (capture.analytic_type, capture.event_id) == ("faceCapture", "json-1795946712123456789")
    assert (capture.tenant, capture.building, capture.floor, capture.device_id) == (
        "default",
        "predio_a",
        "terreo",
        "fixa01",
    )
    assert capture.occurred_at == datetime(2026, 11, 29, 10, 5, 12, tzinfo=UTC)
    assert capture.snapshot_url is not None
    assert capture.snapshot_url.endswith(".jpg")
    assert capture.meta["facesCount"] == 1
    assert not capture.recognized
    assert capture.person_name is None


def test_a_face_recognition_repeats_the_capture_and_names_the_person() -> None:
    capture, recognition = event("face_capture"), event("face_recognized")
    assert recognition.event_id == capture.event_id
    assert recognition.recognized
    assert (recognition.person_name, recognition.card_id) == ("Maria Silva", "123")
    assert recognition.confidence == pytest.approx(0.9312)
    assert recognition.person_photo_url == "http://facedb.local/uploads/cards/123.jpg"


def test_an_inline_snapshot_is_kept_as_base64_for_the_media_rules() -> None:
    inline = event("face_capture_b64")
    assert inline.snapshot_b64 is not None
    image = base64.b64decode(inline.snapshot_b64)
    assert image == (CAMBUS / "face.jpg").read_bytes()


def test_nanosecond_timestamps_and_empty_snapshot_urls_are_handled() -> None:
    crossing = event("dahua_crossline")
    assert crossing.occurred_at == datetime(2026, 11, 29, 10, 6, 0, 123456, tzinfo=UTC)
    assert crossing.snapshot_url is None
    assert crossing.meta["action"] == "Start"


def test_snake_case_and_missing_fields_fall_back_to_the_topic_and_receipt() -> None:
    topic = parse_cambus_topic(f"{BASE}/acme/torre/1/camera/cam9/intrusion/events", BASE)
    assert isinstance(topic, CambusTopic)
    decoded = decode_analytic_event(
        topic, b'{"event_id": "e1", "snapshot_url": "http://x/y.jpg"}', NOW
    )
    assert isinstance(decoded, AnalyticEvent)
    assert (decoded.analytic_type, decoded.event_id, decoded.device_id) == (
        "intrusion",
        "e1",
        "cam9",
    )
    assert decoded.occurred_at == NOW
    assert decoded.snapshot_url == "http://x/y.jpg"


def test_camera_and_collector_status_and_uplink_replies_decode() -> None:
    topic, payload = fixture("camera_status")
    parsed = parse_cambus_topic(topic, BASE)
    assert isinstance(parsed, CambusTopic)
    assert (parsed.kind, parsed.device_id) == ("camera_status", "fixa01")
    status = decode_camera_status(payload, NOW)
    assert isinstance(status, CameraStatus)
    assert status.online
    assert status.analytics_active == ("faceCapture",)
    collector_topic, _ = fixture("collector_status")
    collector = parse_cambus_topic(collector_topic, BASE)
    assert isinstance(collector, CambusTopic)
    assert (collector.kind, collector.building) == ("collector_status", "predio_a")
    uplink_topic, uplink_payload = fixture("uplink_status")
    parsed_uplink = parse_cambus_topic(uplink_topic, "security-vision/cameras")
    assert isinstance(parsed_uplink, CambusTopic)
    assert parsed_uplink.kind == "uplink_status"
    reply = decode_uplink_status(uplink_payload, NOW)
    assert isinstance(reply, UplinkStatus)
    assert (reply.camera_id, reply.state, reply.exit_code) == ("fixa01", "running", 0)


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        (f"{BASE}/t/b/f/camera/c1/info", "info"),
        (f"{BASE}/t/b/f/camera/c1/uplink/start", "ignored"),
    ],
)
def test_our_own_info_and_uplink_requests_are_recognised_not_ingested(
    topic: str, kind: str
) -> None:
    parsed = parse_cambus_topic(topic, BASE)
    assert isinstance(parsed, CambusTopic)
    assert parsed.kind == kind


@pytest.mark.parametrize(
    "topic",
    [
        f"{BASE}/t/b",
        f"{BASE}/t/b/f/camera/c1/x/y/z",
        "elsewhere/t/b/f/camera/c1/status",
        f"{BASE}/t//f/camera/c1/status",
    ],
)
def test_other_topics_are_rejected(topic: str) -> None:
    assert isinstance(parse_cambus_topic(topic, BASE), Rejection)


@given(st.binary(max_size=300))
def test_no_payload_makes_the_decoders_raise(payload: bytes) -> None:
    topic = CambusTopic(kind="event", analytic="x", device_id="c1")
    for result in (
        decode_analytic_event(topic, payload, NOW),
        decode_camera_status(payload, NOW),
        decode_uplink_status(payload, NOW),
    ):
        assert isinstance(result, AnalyticEvent | CameraStatus | UplinkStatus | Rejection)

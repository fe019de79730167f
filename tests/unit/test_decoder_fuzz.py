"""Fuzzing every MQTT payload decoder under hypothesis: whatever arrives, no exception escapes.

tests/unit/test_gateway_codecs.py already throws arbitrary bytes, JSON, MessagePack and
mutated fixtures at the gateway codecs, and test_cambus_codecs.py arbitrary bytes at the
cam-bus ones (nearly all of which fail JSON decoding at once). This adds what those leave out:

- cam-bus JSON objects whose keys are the real ones (in camel, snake and odd case) holding
  values of any JSON type and size, and mutated cam-bus fixtures;
- any topic at all against the cam-bus topic parser;
- the workers' own entry points (``IngestWorker._decode``, ``CameraWorker._decode``), which
  put topic parsing, decoding and fingerprints together exactly as a message goes through.
"""

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securityvision.adapters.mqtt.cambus import (
    CambusTopic,
    decode_analytic_event,
    decode_camera_status,
    decode_uplink_status,
    parse_cambus_topic,
)
from securityvision.adapters.mqtt.subscriber import InboundMessage
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.application.cambus_ingest import CameraMessage
from securityvision.config import Settings, load_settings
from securityvision.container import build_container
from securityvision.domain.cambus import AnalyticEvent, CameraStatus, UplinkStatus
from securityvision.domain.rtls import Rejection
from securityvision.entrypoints.camera_worker import CameraWorker
from securityvision.entrypoints.worker import IngestWorker
from tests.support.rtls import SHARED_FIXTURES

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BASE = "rtls/cameras"
PREFIX = "rtls/gateways"
KEYS = [
    "AnalyticType",
    "Timestamp",
    "EventID",
    "CameraIP",
    "CameraName",
    "Tenant",
    "Building",
    "Floor",
    "DeviceType",
    "DeviceID",
    "Meta",
    "SnapshotURL",
    "SnapshotB64",
    "Status",
    "StatusSince",
    "LastEventAt",
    "StatusReason",
    "Shard",
    "AnalyticsConfigured",
    "AnalyticsActive",
    "CameraId",
    "State",
    "CentralPath",
    "ContainerName",
    "ExitCode",
    "Error",
]


def spellings(key: str) -> list[str]:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")
    return [key, snake, key.lower(), key.upper()]


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
    | st.sampled_from(
        [
            "2026-11-29T10:06:00.123456789Z",
            "2026-13-45T99:99:99",
            "1795946760123456789",
            "0",
            "-1",
            "9" * 40,
            "aGVsbG8=",
            "not base64 ***",
            "",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(
    st.sampled_from([s for key in KEYS for s in spellings(key)]) | st.text(max_size=12),
    json_values,
    max_size=12,
)
cambus_topics = st.builds(
    lambda kind, analytic, device: CambusTopic(kind=kind, analytic=analytic, device_id=device),
    st.sampled_from(["event", "camera_status", "uplink_status", "info"]),
    st.none() | st.text(max_size=20),
    st.none() | st.text(max_size=20),
)
segments = st.sampled_from(["default", "a", "", "+", "#", "camera", "events", "status", "x" * 70])
topic_texts = st.lists(segments | st.text(max_size=12), max_size=10).map("/".join)

FIXTURES = sorted((SHARED_FIXTURES / "cambus").glob("*.json"))


def camera_fixture_payloads() -> list[bytes]:
    return [path.read_bytes() for path in FIXTURES]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(documents, cambus_topics)
def test_cambus_documents_of_any_shape_decode_or_are_rejected(
    document: dict[str, Any], topic: CambusTopic
) -> None:
    payload = json.dumps(document).encode()
    event = decode_analytic_event(topic, payload, NOW)
    assert isinstance(event, AnalyticEvent | Rejection)
    if isinstance(event, AnalyticEvent):
        assert event.occurred_at.tzinfo is not None
    assert isinstance(decode_camera_status(payload, NOW), CameraStatus | Rejection)
    assert isinstance(decode_uplink_status(payload, NOW), UplinkStatus | Rejection)


@given(st.data())
def test_mutated_cambus_fixtures_decode_or_are_rejected(data: st.DataObject) -> None:
    payloads = camera_fixture_payloads()
    assert payloads
    payload = bytearray(data.draw(st.sampled_from(payloads)))
    for _ in range(data.draw(st.integers(1, 6))):
        where = data.draw(st.integers(0, max(len(payload) - 1, 0)))
        match data.draw(st.sampled_from(["flip", "cut", "insert"])):
            case "flip" if payload:
                payload[where] ^= data.draw(st.integers(1, 255))
            case "cut":
                del payload[where:]
            case _:
                payload[where:where] = data.draw(st.binary(min_size=1, max_size=8))
    topic = CambusTopic(kind="event", analytic="faceCapture", device_id="fixa01")
    assert isinstance(decode_analytic_event(topic, bytes(payload), NOW), AnalyticEvent | Rejection)
    assert isinstance(decode_camera_status(bytes(payload), NOW), CameraStatus | Rejection)
    assert isinstance(decode_uplink_status(bytes(payload), NOW), UplinkStatus | Rejection)


@given(topic_texts, st.sampled_from([BASE, "a", "", "rtls/cameras/"]))
def test_any_topic_is_parsed_or_rejected_by_the_cambus_parser(topic: str, base: str) -> None:
    assert isinstance(parse_cambus_topic(topic, base), CambusTopic | Rejection)
    assert isinstance(parse_cambus_topic(f"{BASE}/{topic}", BASE), CambusTopic | Rejection)


def settings_for_decoding() -> Settings:
    return load_settings(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "RTLS_MQTT_HOST": "127.0.0.1",
            "SVPOS_SECRET_KEY": "s" * 48,
        },
        env_file=None,
    )


def inbound(topic: str, payload: bytes, *, retained: bool = False) -> InboundMessage:
    return InboundMessage(
        topic=topic,
        payload=payload,
        qos=1,
        mid=7,
        redelivered=False,
        retained=retained,
        received_at=NOW,
        generation=1,
    )


SETTINGS = settings_for_decoding()
# Decoding touches neither the database nor the broker: the container is never opened.
CONTAINER = build_container(SETTINGS)
payloads = (
    st.binary(max_size=600)
    | documents.map(lambda d: json.dumps(d).encode())
    | st.sampled_from(camera_fixture_payloads())
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(topic_texts, payloads, st.booleans())
def test_the_camera_worker_decodes_any_message_or_rejects_it(
    topic: str, payload: bytes, retained: bool
) -> None:
    worker = CameraWorker(SETTINGS, CONTAINER, WorkerMetrics())
    for candidate in (topic, f"{BASE}/{topic}", f"{BASE}/default/a/b/camera/c1/x/events"):
        result = worker._decode(inbound(candidate, payload, retained=retained))
        assert result is None or isinstance(result, CameraMessage)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(topic_texts, payloads | st.binary(max_size=2048), st.booleans())
def test_the_ingest_worker_decodes_any_message_or_rejects_it(
    topic: str, payload: bytes, retained: bool
) -> None:
    worker = IngestWorker(SETTINGS, CONTAINER, WorkerMetrics())
    for candidate in (topic, f"{PREFIX}/{topic}", f"{PREFIX}/AC233FC07DA5/beacon"):
        received = worker._decode(inbound(candidate, payload, retained=retained))
        if received.delivery is None:
            assert received.rejections
        else:
            message = received.delivery.message
            assert message.observations or message.rejections or message.online is not None

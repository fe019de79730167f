"""The camera simulator: cam-bus's own message shapes, read back by the worker's decoders —
statuses every 15 s, the collector's, captures with a real JPEG, recognitions of them."""

import base64
import random
from datetime import UTC, datetime, timedelta

import msgspec

from securityvision.adapters.mqtt.cambus import (
    CambusTopic,
    analytic_event_from,
    camera_status_from,
    parse_cambus_topic,
)
from securityvision.adapters.mqtt.camera_simulator import CameraSimulator, camera_code, face_jpeg
from securityvision.adapters.mqtt.simulator import Publication
from securityvision.domain.cambus import AnalyticEvent, CameraStatus
from securityvision.domain.media import ImageType, check_image

PREFIX = "rtls/cameras"
T0 = datetime(2026, 11, 29, 10, 0, 0, 250000, tzinfo=UTC)


def run(simulator: CameraSimulator, seconds: float) -> list[tuple[float, Publication]]:
    return [
        (step / 2, publication)
        for step in range(int(seconds * 2))
        for publication in simulator.tick(T0 + timedelta(seconds=step / 2))
    ]


def where(publication: Publication) -> CambusTopic:
    topic = parse_cambus_topic(publication.topic, PREFIX)
    assert isinstance(topic, CambusTopic), topic
    return topic


def test_statuses_come_every_15_seconds_retained_with_the_collectors() -> None:
    simulator = CameraSimulator(cameras=2, seed=1, captures_per_minute=0.001)
    published = run(simulator, 46)

    statuses = [(t, p) for t, p in published if where(p).kind == "camera_status"]
    assert [t for t, _ in statuses] == [0, 0, 15, 15, 30, 30, 45, 45]
    assert {where(p).device_id for _, p in statuses} == {"sim-cam-01", "sim-cam-02"}
    status = camera_status_from(msgspec.json.decode(statuses[0][1].payload), T0)
    assert isinstance(status, CameraStatus)
    assert status.online
    collectors = [p for _, p in published if where(p).kind == "collector_status"]
    assert len(collectors) == 4
    assert msgspec.json.decode(collectors[0].payload)["cameras"] == 2
    assert all(p.retain for _, p in statuses)
    assert all(p.retain for p in collectors)


def test_captures_carry_a_real_jpeg_and_recognitions_repeat_their_event_id() -> None:
    simulator = CameraSimulator(cameras=3, seed=4, captures_per_minute=30)
    published = [p for _, p in run(simulator, 60)]
    events = [
        analytic_event_from(where(p), msgspec.json.decode(p.payload), T0)
        for p in published
        if where(p).kind == "event"
    ]
    captures = [e for e in events if e.analytic_type == "faceCapture"]
    recognitions = [e for e in events if e.recognized]
    assert len(captures) > 20
    assert recognitions
    assert {e.event_id for e in recognitions} <= {e.event_id for e in captures}
    assert len({e.event_id for e in captures}) == len(captures)
    for capture in captures:
        assert capture.snapshot_b64 is not None
        image = check_image(base64.b64decode(capture.snapshot_b64), max_bytes=5_000_000)
        assert (image.type, image.width, image.height) == (ImageType.JPEG, 48, 48)
    first: AnalyticEvent = recognitions[0]
    assert first.person_name
    assert first.confidence is not None
    assert 0.8 <= first.confidence <= 0.99
    assert first.snapshot_b64 is None  # the capture's image is attached once
    assert all(not p.retain for p in published if where(p).kind == "event")


def test_every_camera_captures_a_face_within_its_first_second() -> None:
    simulator = CameraSimulator(cameras=4, seed=9, captures_per_minute=0.5)
    captured = {
        where(p).device_id for _, p in run(simulator, 1.5) if where(p).analytic == "faceCapture"
    }
    assert captured == {camera_code(i).lower() for i in range(4)}


def test_the_same_seed_gives_the_same_messages() -> None:
    def messages(seed: int) -> list[tuple[str, bytes]]:
        simulator = CameraSimulator(cameras=2, seed=seed, captures_per_minute=20)
        return [(p.topic, p.payload) for _, p in run(simulator, 20)]

    assert messages(3) == messages(3)
    assert messages(3) != messages(4)


def test_the_jpeg_varies_with_the_draws() -> None:
    assert face_jpeg(random.Random(1)) == face_jpeg(random.Random(1))
    assert face_jpeg(random.Random(1)) != face_jpeg(random.Random(2))

"""Snapshot URLs are fetched only where they may be, and a refused image never drops its event."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from securityvision.adapters.fetch import FetchRefused, SafeFetcher
from securityvision.adapters.media import InMemoryMediaStore
from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.cambus_ingest import (
    CameraMessage,
    CameraOutcome,
    IngestCameraMessage,
)
from securityvision.application.incident_pipeline import IncidentPipeline
from securityvision.domain.cambus import AnalyticEvent
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.incident_rules import DEFAULT_RULES
from tests.support.clock import FakeClock
from tests.support.rtls import SHARED_FIXTURES

JPEG = (SHARED_FIXTURES / "cambus" / "face.jpg").read_bytes()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/face.jpg": (200, "image/jpeg", JPEG),
            "/page.jpg": (200, "image/jpeg", b"<html><script>alert(1)</script></html>"),
            "/big.jpg": (200, "image/jpeg", JPEG + b"\0" * 2_000_000),
        }
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/to"))
            self.end_headers()
            return
        if self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/face.jpg")
            self.end_headers()
            return
        status, kind, body = routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@pytest.mark.parametrize(
    ("url", "allowed", "reason"),
    [
        ("file:///etc/passwd", (), "scheme_refused"),
        ("ftp://example.com/x.jpg", (), "scheme_refused"),
        ("http://{server}/face.jpg", (), "address_refused"),  # loopback, not listed
        ("http://169.254.169.254/latest/meta-data/", (), "address_refused"),
        ("http://10.1.2.3/x.jpg", (), "address_refused"),
        ("http://[::1]/x.jpg", (), "address_refused"),
        ("http://example.com/x.jpg", ("127.0.0.1",), "host_not_allowed"),
        ("http://localhost:{port}/away", ("localhost",), "host_not_allowed"),  # redirect hop
        ("http://{server}/big.jpg", ("127.0.0.1",), "too_large"),
        ("http://{server}/missing.jpg", ("127.0.0.1",), "http_error"),
    ],
)
async def test_refused_urls_say_why(
    server: str, url: str, allowed: tuple[str, ...], reason: str
) -> None:
    fetcher = SafeFetcher(allowed_hosts=allowed, max_bytes=1_000_000, timeout_seconds=2)
    port = server.split(":")[1]
    with pytest.raises(FetchRefused) as caught:
        await fetcher.fetch(url.format(server=server, port=port))
    assert caught.value.code == reason


async def test_a_listed_host_is_fetched_through_a_redirect(server: str) -> None:
    fetcher = SafeFetcher(allowed_hosts=("127.0.0.1",), max_bytes=1_000_000)
    assert await fetcher.fetch(f"http://{server}/to/face.jpg") == JPEG


def camera_event(snapshot_url: str) -> CameraMessage:
    now = datetime(2026, 11, 29, 10, 5, 12, tzinfo=UTC)
    event = AnalyticEvent(
        analytic_type="faceCapture",
        occurred_at=now,
        event_id=f"evt-{abs(hash(snapshot_url))}",
        device_id="fixa01",
        snapshot_url=snapshot_url,
    )
    return CameraMessage(
        camera_code="fixa01",
        topic="rtls/cameras/default/predio_a/terreo/camera/fixa01/faceCapture/events",
        received_at=now,
        payload={
            "AnalyticType": "faceCapture",
            "EventID": event.event_id,
            "SnapshotURL": snapshot_url,
        },
        event=event,
    )


@pytest.mark.parametrize(
    ("path", "refusal"),
    [("face.jpg", None), ("page.jpg", "unsupported_image_type"), ("big.jpg", "too_large")],
)
async def test_the_event_lands_whatever_becomes_of_its_snapshot(
    server: str, path: str, refusal: str | None
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 10, 6, tzinfo=UTC))
    storage = InMemoryStorage(clock)
    async with storage.unit_of_work() as uow:
        for rule in DEFAULT_RULES:
            await uow.incident_rules.add(rule)
        await uow.devices.add(NewDevice(name="Portaria", code="fixa01", type=DeviceType.CAMERA))
        await uow.commit()
    ingest = IngestCameraMessage(
        storage.unit_of_work,
        clock,
        IncidentPipeline(clock=clock, cooldown=timedelta(seconds=60)),
        InMemoryMediaStore(),
        media_max_bytes=1_000_000,
        fetcher=SafeFetcher(allowed_hosts=("127.0.0.1",), max_bytes=1_000_000),
    )
    report = await ingest.execute(camera_event(f"http://{server}/{path}"))
    assert report.outcome is CameraOutcome.STORED
    assert report.incident_id is not None
    assert report.bad_image == refusal
    async with storage.unit_of_work() as uow:
        messages = await uow.incident_messages.list(report.incident_id)
    media = [m for m in messages if str(m.message_type) == "MEDIA"]
    assert len(media) == (1 if refusal is None else 0)

"""cam-bus's topics and documents as the backend writes them: escaped topic levels, the /info
keys cam-bus reads, the uplink request, viewer URLs and the uplink lease."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.domain.cambus_publishing import (
    StopReason,
    Uplink,
    UplinkRequest,
    camera_info,
    camera_paths,
    camera_place,
    central_host,
    check_ttl,
    topic_segment,
    viewer_host,
    viewer_urls,
    with_password,
)
from securityvision.domain.devices import Device, DeviceType
from securityvision.domain.errors import InvalidInput
from tests.support.cambus import CAMERA_INFO_KEYS

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def camera(**fields: object) -> Device:
    base = Device(
        id=7, name="Portaria", type=DeviceType.CAMERA, code="fixa01", created_at=NOW, updated_at=NOW
    )
    return msgspec.structs.replace(base, **fields)


def test_a_plain_name_keeps_the_originals_spelling() -> None:
    assert topic_segment("Prédio A", "building") == "prédio_a"
    assert topic_segment("Bloco 1/Ala B", "floor") == "bloco_1-ala_b"
    assert topic_segment("  ", "floor") == "floor"
    assert topic_segment(None, "default") == "default"


def test_wildcards_percent_and_control_characters_are_percent_encoded() -> None:
    assert topic_segment("cam+1", "x") == "cam%2B1"
    assert topic_segment("cam#1", "x") == "cam%231"
    assert topic_segment("50%", "x") == "50%25"
    assert topic_segment("a\x00b\tc", "x") == "a%00b%09c"


@given(st.text())
def test_no_name_can_add_a_level_or_a_wildcard(name: str) -> None:
    segment = topic_segment(name, "default")
    assert segment
    assert not {"/", "+", "#", "\x00"} & set(segment)


@given(st.text(), st.text())
def test_the_escape_step_never_merges_two_names(first: str, second: str) -> None:
    # After the original's spelling (lower case, spaces and slashes), different names stay
    # different: '%' is encoded too, so "cam+1" and "cam%2B1" are two levels.
    def spelled(text: str) -> str:
        return (text.strip() or "d").lower().replace(" ", "_").replace("/", "-")

    if spelled(first) != spelled(second):
        assert topic_segment(first, "d") != topic_segment(second, "d")


def test_a_camera_on_no_floor_is_published_under_externo() -> None:
    place = camera_place(
        camera(code="Cam 1"), building_name="Torre A", floor_name=None, default_tenant="acme"
    )
    assert place.path == "acme/externo/externo/camera/cam_1"
    assert (
        place.info_topic("rtls/cameras/") == "rtls/cameras/acme/externo/externo/camera/cam_1/info"
    )


def test_the_cameras_own_tenant_wins_and_a_camera_without_code_is_named_by_id() -> None:
    place = camera_place(
        camera(code=None, tenant="Site #2"),
        building_name="Torre A",
        floor_name="Térreo",
        default_tenant="default",
    )
    assert place.path == "site_%232/torre_a/térreo/camera/device7"
    assert place.uplink_topics("security-vision/cameras") == (
        "security-vision/cameras/site_%232/torre_a/térreo/camera/device7/uplink"
    )


def test_the_info_document_has_exactly_the_keys_cam_bus_reads_and_no_password() -> None:
    place = camera_place(
        camera(), building_name="Predio A", floor_name="Terreo", default_tenant="default"
    )
    document = camera_info(
        camera(
            ip_address="10.0.0.10",
            manufacturer="Hikvision",
            username="admin",
            rtsp_url="rtsp://10.0.0.10:554/Streaming/Channels/101",
            record_retention_minutes=30,
        ),
        place,
        host="mtx.example.com",
        srt_port=8890,
        default_shard="shard-1",
    )
    assert set(document) == CAMERA_INFO_KEYS
    assert document["central_host"] == "mtx.example.com"
    assert document["central_srt_port"] == 8890
    assert document["analytics"] == ["faceCapture", "VMD"]  # Hikvision's defaults
    assert (document["enabled"], document["use_tls"], document["port"]) == (True, False, 80)
    assert (document["record_enabled"], document["record_retention_minutes"]) == (True, 30)
    assert document["proxy_path"] == "fixa01"
    assert document["central_path"] == "default/predio_a/fixa01"


def test_the_cameras_own_paths_are_sent_as_they_are() -> None:
    place = camera_place(camera(), building_name="B", floor_name="F", default_tenant="t")
    paths = camera_paths(
        camera(proxy_path="predio_a/terreo/fixa01", central_path="/central/fixa01/"), place
    )
    assert (paths.proxy, paths.central) == ("predio_a/terreo/fixa01", "central/fixa01")


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("mtx.example.com", "mtx.example.com"),
        ("10.0.0.5:8890", "10.0.0.5"),
        ("https://mtx.example.com/", "mtx.example.com"),
        ("  ", None),
        (None, None),
    ],
)
def test_the_srt_host_is_the_bare_host_name(typed: str | None, host: str | None) -> None:
    assert central_host(typed) == host


def test_the_web_host_keeps_a_port_as_the_front_end_does() -> None:
    assert viewer_host("https://mtx.example.com:8443/") == "mtx.example.com:8443"


def test_viewer_urls_follow_mediamtx_and_the_templates() -> None:
    urls = viewer_urls(
        srt_host="mtx.example.com",
        srt_port=8890,
        web_host="mtx.example.com",
        central_path="predio a/fixa01",
        webrtc_template="https://{host}/{path}/whep",
        hls_template="http://{host}:8888/{path}/index.m3u8",
    )
    assert urls.srt == "srt://mtx.example.com:8890?streamid=read:predio%20a/fixa01"
    assert urls.webrtc == "https://mtx.example.com/predio%20a/fixa01/whep"
    assert urls.hls == "http://mtx.example.com:8888/predio%20a/fixa01/index.m3u8"


def test_the_password_is_added_to_the_bytes_only() -> None:
    payload = msgspec.json.encode({"name": "Portaria"})
    assert msgspec.json.decode(with_password(payload, "s3cret")) == {
        "name": "Portaria",
        "password": "s3cret",
    }


def test_the_uplink_request_uses_cam_bus_keys() -> None:
    request = UplinkRequest(
        camera_id="fixa01",
        proxy_path="fixa01",
        central_path="default/predio_a/fixa01",
        central_host="mtx.example.com",
        central_srt_port=8890,
        ttl_seconds=120,
    )
    assert request.document() == {
        "cameraId": "fixa01",
        "proxyPath": "fixa01",
        "centralPath": "default/predio_a/fixa01",
        "centralHost": "mtx.example.com",
        "centralSrtPort": 8890,
        "ttlSeconds": 120,
    }


@pytest.mark.parametrize("ttl", [0, -1, 86_401])
def test_a_ttl_out_of_range_is_refused(ttl: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_ttl(ttl)
    assert refused.value.code == "invalid_ttl"


def test_a_lease_is_active_until_it_expires_or_stops_and_a_renewal_keeps_its_start() -> None:
    request = UplinkRequest(
        camera_id="c",
        proxy_path="c",
        central_path="c",
        central_host="h",
        central_srt_port=8890,
        ttl_seconds=2,
    )
    lease = Uplink(device_id=1).started(topics="t/uplink", request=request, now=NOW, renewal=False)
    assert lease.expires_at == NOW + timedelta(seconds=2)
    assert lease.active(NOW + timedelta(seconds=1.9))
    assert not lease.active(NOW + timedelta(seconds=2))

    later = NOW + timedelta(seconds=1)
    renewed = lease.started(topics="t/uplink", request=request, now=later, renewal=True)
    assert (renewed.started_at, renewed.expires_at) == (NOW, later + timedelta(seconds=2))

    stopped = renewed.stopped(later, StopReason.REQUESTED)
    assert not stopped.active(later)
    assert stopped.stop_reason is StopReason.REQUESTED

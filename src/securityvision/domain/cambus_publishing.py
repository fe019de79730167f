"""What the backend tells cam-bus: each camera's retained ``/info`` document, the tombstone
that removes it, and uplink requests — their topics and payloads, as cam-bus reads them
(CLIENTS.md §15).

Topics are ``<base>/<tenant>/<building>/<floor>/camera/<device>/…``. Each level comes from a
name someone typed (a tenant, a building's or floor's name, a camera's code), so it goes
through :func:`topic_segment` first: a name can never add a level, become a wildcard or
make the topic invalid.

Everything here is pure: the application layer reads the camera and its site, and hands
these payloads to the outbox.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from securityvision.domain.devices import Device
from securityvision.domain.errors import InvalidInput

DEVICE_TYPE = "camera"
# The original's segments for a camera placed on no building or floor.
UNPLACED = "externo"
DEFAULT_TENANT = "default"
UPLINK_TTL_MAX_SECONDS = 86_400
DEFAULT_MODEL = "any"
DEFAULT_CAMERA_PORT = 80

# The analytics a camera of each make runs when none are listed (the original's defaults).
_DEFAULT_ANALYTICS: Mapping[str, tuple[str, ...]] = {
    "hikvision": ("faceCapture", "VMD"),
    "dahua": ("FaceDetection", "CrossLineDetection", "CrossRegionDetection"),
}
_FALLBACK_ANALYTICS = ("faceCapture",)

# Characters percent-encoded in a topic level: '%' itself (so the encoding can be read
# back), the wildcards, and every control character (NUL is forbidden by MQTT).
_ESCAPED = {"%", "+", "#"} | {chr(c) for c in range(0x20)} | {"\x7f"}


def topic_segment(text: str | None, default: str) -> str:
    """``text`` as one topic level.

    1. The original's spelling, so existing cam-bus deployments keep their topics: trimmed,
       lower case, spaces as ``_``, ``/`` as ``-`` (``Prédio A`` → ``prédio_a``).
    2. Then ``%``, ``+``, ``#`` and control characters are percent-encoded (``%25``,
       ``%2B``, ``%23``, ``%00``…): a name can never add a level or turn a publication into
       a filter (the original let them through, ORIGINAL.md §9 bug 35), and since ``%`` is
       encoded too, two different results of step 1 never give the same level.

    Blank is ``default``.
    """
    value = (text or "").strip() or default
    value = value.lower().replace(" ", "_").replace("/", "-")
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


class CameraPlace(msgspec.Struct, frozen=True, kw_only=True):
    """Where a camera is in cam-bus's topics: each level already a :func:`topic_segment`."""

    tenant: str
    building: str
    floor: str
    device: str

    @property
    def path(self) -> str:
        """``<tenant>/<building>/<floor>/camera/<device>`` (cam-bus's ``P`` under a base)."""
        return f"{self.tenant}/{self.building}/{self.floor}/{DEVICE_TYPE}/{self.device}"

    def info_topic(self, base: str) -> str:
        return f"{base.strip('/')}/{self.path}/info"

    def uplink_topics(self, base: str) -> str:
        """``<base>/<path>/uplink``: the requests go one level below (:func:`uplink_topic`)."""
        return f"{base.strip('/')}/{self.path}/uplink"


def camera_place(
    camera: Device,
    *,
    building_name: str | None,
    floor_name: str | None,
    default_tenant: str,
) -> CameraPlace:
    """The camera's topic levels, as the original built them: the camera's tenant (else
    CAMBUS_TENANT), its building's and floor's names (``externo/externo`` when it is on
    no building or no floor), and its code (else ``device<id>``)."""
    placed = building_name is not None and floor_name is not None
    return CameraPlace(
        tenant=topic_segment(camera.tenant or default_tenant, DEFAULT_TENANT),
        building=topic_segment(building_name, "building") if placed else UNPLACED,
        floor=topic_segment(floor_name, "floor") if placed else UNPLACED,
        device=device_segment(camera),
    )


def device_segment(camera: Device) -> str:
    """The camera's own level: cam-bus's ``device_id`` and the ``cameraId`` of uplinks."""
    return topic_segment(camera.code, f"device{camera.id}")


def default_analytics(manufacturer: str | None) -> tuple[str, ...]:
    return _DEFAULT_ANALYTICS.get((manufacturer or "").strip().lower(), _FALLBACK_ANALYTICS)


def central_host(value: str | None) -> str | None:
    """The media server's host name out of ``central_media_mtx_ip`` as people type it
    (``mtx.example.com``, ``10.0.0.5:8890``, ``https://mtx.example.com/``): cam-bus dials
    SRT to it on the SRT port, so scheme, port and path go."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host or None


def viewer_host(value: str | None) -> str | None:
    """``central_media_mtx_ip`` without scheme and trailing ``/``, as the front end puts it
    in the WebRTC URL it plays (CLIENTS.md §7): a port given stays."""
    text = (value or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.strip("/")
    return text or None


class CameraPaths(msgspec.Struct, frozen=True, kw_only=True):
    """Where the stream lives at the edge (``proxy_path``) and on the media shard
    (``central_path``): the camera's own, else what cam-bus itself would use."""

    proxy: str
    central: str


def camera_paths(camera: Device, place: CameraPlace) -> CameraPaths:
    """cam-bus's defaults made explicit (``proxy_path`` ← the device level, ``central_path``
    ← ``tenant/building/device``), so the backend knows the path it builds viewer URLs on."""
    proxy = (camera.proxy_path or "").strip().strip("/") or place.device
    central = (camera.central_path or "").strip().strip("/") or (
        f"{place.tenant}/{place.building}/{place.device}"
    )
    return CameraPaths(proxy=proxy, central=central)


def camera_info(
    camera: Device,
    place: CameraPlace,
    *,
    host: str | None,
    srt_port: int,
    default_shard: str,
) -> dict[str, Any]:
    """The retained ``/info`` document, with exactly the keys cam-bus's ``CameraInfo``
    reads — ``central_host`` and ``central_srt_port`` among them (the original sent
    ``central_media_mtx_ip``, which cam-bus ignores, bug 18) — and no password: the relay
    adds it when it sends (application/cambus_publishing.py), so it is never stored in
    clear. ``tenant``, ``building``, ``floor``, ``device_type`` and ``device_id`` are left
    out: cam-bus takes them from the topic."""
    paths = camera_paths(camera, place)
    retention = camera.record_retention_minutes or 0
    return {
        "ip": camera.ip_address or "",
        "name": camera.name,
        "manufacturer": camera.manufacturer or "",
        "model": camera.model or DEFAULT_MODEL,
        "username": camera.username or "",
        "port": camera.port or DEFAULT_CAMERA_PORT,
        "use_tls": False,
        "analytics": list(camera.analytics or default_analytics(camera.manufacturer)),
        "enabled": True,
        "rtsp_url": camera.rtsp_url or "",
        "proxy_path": paths.proxy,
        "central_host": host or "",
        "central_srt_port": srt_port,
        "central_path": paths.central,
        "record_enabled": retention > 0,
        "record_retention_minutes": retention,
        "pre_roll_seconds": 0,
        "shard": camera.shard or default_shard,
    }


def info_digest(document: Mapping[str, Any], secret_marker: str = "") -> str:
    """What was last published, to tell whether a change changes the document (the
    ``secret_marker`` stands for the password without being it)."""
    body = msgspec.json.encode(document, order="sorted") + secret_marker.encode()
    return hashlib.sha256(body).hexdigest()


def with_password(payload: bytes, password: str) -> bytes:
    """The ``/info`` bytes with the camera's password in, for the moment of sending."""
    document = msgspec.json.decode(payload)
    if not isinstance(document, dict):
        raise InvalidInput("a camera /info document is a JSON object", code="invalid_info")
    document["password"] = password
    return msgspec.json.encode(document)


class CameraPublication(msgspec.Struct, frozen=True, kw_only=True):
    """The ``/info`` last queued for a camera: where (so a move or a deletion can clear it)
    and what (so an unchanged camera is not re-sent)."""

    device_id: int
    device_segment: str
    topic: str
    digest: str


# --- uplinks ----------------------------------------------------------------------------


class UplinkAction(StrEnum):
    START = "start"
    STOP = "stop"


def uplink_topic(uplink_topics: str, action: UplinkAction) -> str:
    return f"{uplink_topics}/{action.value}"


class UplinkRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What cam-bus reads on ``…/uplink/start|stop``."""

    camera_id: str
    proxy_path: str
    central_path: str
    central_host: str
    central_srt_port: int
    ttl_seconds: int

    def document(self) -> dict[str, Any]:
        return {
            "cameraId": self.camera_id,
            "proxyPath": self.proxy_path,
            "centralPath": self.central_path,
            "centralHost": self.central_host,
            "centralSrtPort": self.central_srt_port,
            "ttlSeconds": self.ttl_seconds,
        }


def check_ttl(ttl_seconds: int) -> int:
    if not 1 <= ttl_seconds <= UPLINK_TTL_MAX_SECONDS:
        raise InvalidInput(
            f"ttl_seconds must be from 1 to {UPLINK_TTL_MAX_SECONDS}", code="invalid_ttl"
        )
    return ttl_seconds


class ViewerUrls(msgspec.Struct, frozen=True, kw_only=True):
    srt: str
    webrtc: str
    hls: str


def viewer_urls(
    *,
    srt_host: str,
    srt_port: int,
    web_host: str,
    central_path: str,
    webrtc_template: str,
    hls_template: str,
) -> ViewerUrls:
    """Where a viewer plays the uplinked stream: SRT straight from the shard
    (``srt://<host>:<port>?streamid=read:<central_path>``, MediaMTX's form), WebRTC (WHEP)
    and HLS from the URL templates (``{host}``, ``{path}``)."""
    path = quote(central_path.strip("/"), safe="/")
    return ViewerUrls(
        srt=f"srt://{srt_host}:{srt_port}?streamid=read:{path}",
        webrtc=webrtc_template.replace("{host}", web_host).replace("{path}", path),
        hls=hls_template.replace("{host}", web_host).replace("{path}", path),
    )


class StopReason(StrEnum):
    REQUESTED = "requested"  # POST …/uplink/stop
    EXPIRED = "expired"  # not renewed within its TTL


class StreamState(msgspec.Struct, frozen=True, kw_only=True):
    """What cam-bus last said about the camera's uplink (``…/uplink/status``)."""

    state: str
    reported_at: datetime
    error: str | None = None
    exit_code: int | None = None
    container_name: str | None = None
    central_path: str | None = None


class Uplink(msgspec.Struct, frozen=True, kw_only=True):
    """A camera's uplink: the lease the backend holds (``topics`` is where its start went
    and its stop goes, :meth:`CameraPlace.uplink_topics`; ``request`` the payload sent) and
    the stream state cam-bus reports. Either half may be missing: cam-bus may report on a
    stream nobody here asked for."""

    device_id: int
    topics: str | None = None
    request: dict[str, Any] | None = None
    ttl_seconds: int | None = None
    started_at: datetime | None = None
    expires_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    stream: StreamState | None = None

    def active(self, now: datetime) -> bool:
        """Started, not stopped, and not past its expiry."""
        return self.stopped_at is None and self.expires_at is not None and self.expires_at > now

    def started(
        self, *, topics: str, request: UplinkRequest, now: datetime, renewal: bool
    ) -> "Uplink":
        """Started (or, when ``renewal``, renewed): the TTL counts from ``now``."""
        return msgspec.structs.replace(
            self,
            topics=topics,
            request=request.document(),
            ttl_seconds=request.ttl_seconds,
            started_at=self.started_at if renewal else now,
            expires_at=now + timedelta(seconds=request.ttl_seconds),
            stopped_at=None,
            stop_reason=None,
        )

    def stopped(self, now: datetime, reason: StopReason) -> "Uplink":
        return msgspec.structs.replace(self, stopped_at=now, stop_reason=reason)

"""cam-bus messages: topics and payloads, decoded without ever raising.

Topics under the base (``CAMBUS_MQTT_BASE_TOPIC``), as cam-bus publishes them:

- ``<tenant>/<building>/<floor>/<device_type>/<device_id>/status`` — camera status (retained)
- ``<tenant>/<building>/<floor>/<device_type>/<device_id>/<analytic>/events`` — an analytic event
- ``<tenant>/<building>/collector/status`` — the collector's own status (retained)
- ``…/<device_id>/info`` — the backend's own retained camera document: never ingested
- ``…/<device_id>/uplink/status`` — cam-bus's reply about an uplink (under the uplink base)
- anything else (Home Assistant discovery, uplink requests) is not ours to read.
"""

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from securityvision.domain.cambus import AnalyticEvent, CameraStatus, UplinkStatus
from securityvision.domain.rtls import Rejection

MAX_PAYLOAD_BYTES = 8 * 1024 * 1024  # an inline snapshot makes events large
Kind = Literal["camera_status", "collector_status", "event", "info", "uplink_status", "ignored"]


class CambusTopic(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind
    tenant: str | None = None
    building: str | None = None
    floor: str | None = None
    device_type: str | None = None
    device_id: str | None = None
    analytic: str | None = None


_KIND_BY_SUFFIX: dict[tuple[str, ...], Kind] = {
    ("status",): "camera_status",
    ("info",): "info",
    ("uplink", "status"): "uplink_status",
    ("uplink", "start"): "ignored",
    ("uplink", "stop"): "ignored",
}


def parse_cambus_topic(topic: str, base: str) -> CambusTopic | Rejection:
    prefix = base.strip("/") + "/"
    parts = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
    if not parts or any(not p for p in parts):
        return Rejection(reason="unknown_topic", detail=f"not a cam-bus topic under {base}")
    if len(parts) == 4 and parts[2:] == ["collector", "status"]:
        return CambusTopic(kind="collector_status", tenant=parts[0], building=parts[1])
    rest = tuple(parts[5:])
    kind = _KIND_BY_SUFFIX.get(rest)
    analytic = None
    if kind is None and len(rest) == 2 and rest[1] == "events":
        kind, analytic = "event", rest[0]
    if kind is None or len(parts) < 6:
        return Rejection(reason="unknown_topic", detail="not a cam-bus topic")
    tenant, building, floor, device_type, device_id = parts[:5]
    return CambusTopic(
        kind=kind,
        tenant=tenant,
        building=building,
        floor=floor,
        device_type=device_type,
        device_id=device_id,
        analytic=analytic,
    )


def _folded(document: dict[str, Any]) -> dict[str, Any]:
    """Keys lower-cased with ``_`` removed: ``SnapshotURL``, ``snapshotUrl`` and
    ``snapshot_url`` are one key."""
    return {str(k).replace("_", "").lower(): v for k, v in document.items()}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Go writes nanoseconds; Python reads at most microseconds.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def decode_document(payload: bytes) -> dict[str, Any] | Rejection:
    """The payload as a JSON object, or why it is not one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(reason="too_large", detail=f"{len(payload)} bytes")
    try:
        document = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return Rejection(reason="undecodable", detail=repr(payload[:60]))
    if not isinstance(document, dict):
        return Rejection(reason="wrong_type", detail="not a JSON object")
    return document


def decode_analytic_event(
    topic: CambusTopic, payload: bytes, received_at: datetime
) -> AnalyticEvent | Rejection:
    """The event, with the topic's place and analytic where the payload leaves them out.
    Without a usable ``Timestamp`` the time of receipt stands in."""
    document = decode_document(payload)
    if isinstance(document, Rejection):
        return document
    return analytic_event_from(topic, document, received_at)


def analytic_event_from(
    topic: CambusTopic, document: dict[str, Any], received_at: datetime
) -> AnalyticEvent:
    """The event an already decoded payload describes (see ``decode_analytic_event``)."""
    d = _folded(document)
    analytic = _text(d.get("analytictype")) or topic.analytic or "unknown"
    meta = d.get("meta")
    snapshot_b64 = _text(d.get("snapshotb64"))
    if snapshot_b64 is not None and not _looks_like_base64(snapshot_b64):
        snapshot_b64 = None
    return AnalyticEvent(
        analytic_type=analytic,
        occurred_at=_time(d.get("timestamp")) or received_at,
        event_id=_text(d.get("eventid")),
        camera_ip=_text(d.get("cameraip")),
        camera_name=_text(d.get("cameraname")),
        tenant=_text(d.get("tenant")) or topic.tenant,
        building=_text(d.get("building")) or topic.building,
        floor=_text(d.get("floor")) or topic.floor,
        device_type=_text(d.get("devicetype")) or topic.device_type,
        device_id=_text(d.get("deviceid")) or topic.device_id,
        meta=meta if isinstance(meta, dict) else {},
        snapshot_url=_text(d.get("snapshoturl")),
        snapshot_b64=snapshot_b64,
    )


def _looks_like_base64(text: str) -> bool:
    try:
        base64.b64decode(text[:64] + "=" * (-len(text[:64]) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def decode_camera_status(payload: bytes, received_at: datetime) -> CameraStatus | Rejection:
    document = decode_document(payload)
    if isinstance(document, Rejection):
        return document
    return camera_status_from(document, received_at)


def camera_status_from(document: dict[str, Any], received_at: datetime) -> CameraStatus | Rejection:
    d = _folded(document)
    status = _text(d.get("status"))
    if status is None:
        return Rejection(reason="wrong_type", detail="camera status without status")
    return CameraStatus(
        status=status.lower(),
        reported_at=_time(d.get("timestamp")) or received_at,
        status_since=_time(d.get("statussince")),
        last_event_at=_time(d.get("lasteventat")),
        status_reason=_text(d.get("statusreason")),
        shard=_text(d.get("shard")),
        analytics_configured=_strings(d.get("analyticsconfigured")),
        analytics_active=_strings(d.get("analyticsactive")),
    )


def decode_uplink_status(payload: bytes, received_at: datetime) -> UplinkStatus | Rejection:
    document = decode_document(payload)
    if isinstance(document, Rejection):
        return document
    d = _folded(document)
    camera_id, state = _text(d.get("cameraid")), _text(d.get("state"))
    if camera_id is None or state is None:
        return Rejection(reason="wrong_type", detail="uplink status without cameraId or state")
    exit_code = d.get("exitcode")
    return UplinkStatus(
        camera_id=camera_id,
        state=state,
        reported_at=_time(d.get("timestamp")) or received_at,
        central_path=_text(d.get("centralpath")),
        container_name=_text(d.get("containername")),
        exit_code=exit_code
        if isinstance(exit_code, int) and not isinstance(exit_code, bool)
        else None,
        error=_text(d.get("error")),
    )


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if isinstance(v, str) and v)

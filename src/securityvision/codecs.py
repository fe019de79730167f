"""Payloads, public part: what gateways and cam-bus publish (a topic and bytes) decoded into
the values the use cases take.

Pure code: no MQTT client is imported. A service receives messages however it likes (an MQTT
client of its own, a queue, files) and decodes them here. Nothing here raises on bad input:
a problem comes back as a :class:`~securityvision.domain.Rejection` saying why (a bad
reading inside a good message is listed in ``message.rejections`` and keeps its neighbours).

Everything named in ``__all__`` is public API and follows semantic versioning.
"""

import hashlib
from datetime import datetime

from securityvision.adapters.mqtt.cambus import (
    CambusTopic,
    analytic_event_from,
    camera_status_from,
    decode_analytic_event,
    decode_camera_status,
    decode_document,
    decode_uplink_status,
    parse_cambus_topic,
)
from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.application.cambus_ingest import CameraMessage
from securityvision.application.ingest import Delivery
from securityvision.domain.rtls import Rejection

__all__ = [
    "DEFAULT_CAMBUS_BASE",
    "DEFAULT_GATEWAY_PREFIX",
    "CambusTopic",
    "camera_message",
    "decode_analytic_event",
    "decode_camera_status",
    "decode_gateway_message",
    "decode_uplink_status",
    "gateway_delivery",
    "parse_cambus_topic",
    "parse_gateway_topic",
]

# The defaults of RTLS_MQTT_TOPIC (without its /#) and CAMBUS_MQTT_BASE_TOPIC.
DEFAULT_GATEWAY_PREFIX = "rtls/gateways"
DEFAULT_CAMBUS_BASE = "rtls/cameras"


def gateway_delivery(
    topic: str,
    payload: bytes,
    *,
    received_at: datetime,
    prefix: str = DEFAULT_GATEWAY_PREFIX,
    fingerprint: bytes | None = None,
    redelivered: bool = False,
) -> Delivery | Rejection:
    """A gateway report as ``IngestGatewayMessages`` takes it, or why its topic is not one.

    ``received_at`` (timezone-aware) stands in for readings that carry no time of their own.
    ``fingerprint`` identifies this delivery, so that a redelivery (``redelivered``) of a
    message whose readings carry no time reuses the first time of receipt instead of adding
    them again; by default it is a hash of the topic, the payload and ``received_at``, which
    fits a source that never redelivers.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    parsed = parse_gateway_topic(topic, prefix)
    if isinstance(parsed, Rejection):
        return parsed
    if fingerprint is None:
        digest = hashlib.blake2b(digest_size=16)
        for part in (topic.encode(), payload, received_at.isoformat().encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        fingerprint = digest.digest()
    return Delivery(
        message=decode_gateway_message(parsed, payload),
        received_at=received_at,
        fingerprint=fingerprint,
        redelivered=redelivered,
    )


def camera_message(
    topic: str, payload: bytes, *, received_at: datetime, base: str = DEFAULT_CAMBUS_BASE
) -> CameraMessage | Rejection | None:
    """A cam-bus message as ``IngestCameraMessage`` takes it: a camera's analytic event or
    status; None for what there is nothing to store of (the collector's own status, the
    backend's retained ``/info``, uplink traffic); a Rejection for a topic that is not
    cam-bus's or a payload that is not a JSON object."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    parsed = parse_cambus_topic(topic, base)
    if isinstance(parsed, Rejection):
        return parsed
    if parsed.kind not in ("event", "camera_status") or not parsed.device_id:
        return None
    document = decode_document(payload)
    if isinstance(document, Rejection):
        return document
    if parsed.kind == "event":
        return CameraMessage(
            camera_code=parsed.device_id,
            topic=topic,
            received_at=received_at,
            payload=document,
            event=analytic_event_from(parsed, document, received_at),
        )
    status = camera_status_from(document, received_at)
    if isinstance(status, Rejection):
        return status
    return CameraMessage(
        camera_code=parsed.device_id,
        topic=topic,
        received_at=received_at,
        payload=document,
        status=status,
    )

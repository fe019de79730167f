"""What cameras see, as cam-bus reports it."""

from datetime import datetime

import msgspec


class FaceCapture(msgspec.Struct, frozen=True, kw_only=True):
    """A face seen by a camera; recognised when ``person_name`` or ``card_id`` is known.

    cam-bus sends a ``faceCapture`` first and may follow with a ``faceRecognized`` that repeats
    its ``event_id``: both describe the same sighting.
    """

    camera_code: str
    event_id: str
    occurred_at: datetime
    analytic_type: str = "faceCapture"
    person_name: str | None = None
    card_id: str | None = None
    confidence: float | None = None
    snapshot_url: str | None = None
    person_photo_url: str | None = None

    @property
    def recognized(self) -> bool:
        return self.person_name is not None or self.card_id is not None

    @property
    def person_key(self) -> str | None:
        """Who the capture is about, for joining events within the cooldown; None = unknown."""
        if self.card_id:
            return f"card:{self.card_id}"
        if self.person_name:
            return f"name:{self.person_name.strip().lower()}"
        return None


class AnalyticEvent(msgspec.Struct, frozen=True, kw_only=True):
    """cam-bus's ``AnalyticEvent``, as decoded (keys matched case-insensitively, camelCase and
    snake_case alike). ``snapshot_b64`` is the raw base64 text: checking that it really is an
    image is the media rules' job, not the decoder's."""

    analytic_type: str
    occurred_at: datetime
    event_id: str | None = None
    camera_ip: str | None = None
    camera_name: str | None = None
    tenant: str | None = None
    building: str | None = None
    floor: str | None = None
    device_type: str | None = None
    device_id: str | None = None
    meta: dict[str, object] = msgspec.field(default_factory=dict)
    snapshot_url: str | None = None
    snapshot_b64: str | None = None

    @property
    def person_name(self) -> str | None:
        value = self.meta.get("ff_person_name") or self.meta.get("person_name")
        return str(value) if value not in (None, "") else None

    @property
    def card_id(self) -> str | None:
        value = self.meta.get("ff_card_id")
        return str(value) if value not in (None, "") else None

    @property
    def confidence(self) -> float | None:
        value = self.meta.get("ff_confidence")
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    @property
    def person_photo_url(self) -> str | None:
        value = self.meta.get("ff_person_photo_url")
        return str(value) if value else None

    @property
    def recognized(self) -> bool:
        return self.analytic_type.replace("_", "").replace(" ", "").lower() == "facerecognized"


class CameraStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What cam-bus says of a camera every few seconds (retained)."""

    status: str
    reported_at: datetime
    status_since: datetime | None = None
    last_event_at: datetime | None = None
    status_reason: str | None = None
    shard: str | None = None
    analytics_configured: tuple[str, ...] = ()
    analytics_active: tuple[str, ...] = ()

    @property
    def online(self) -> bool:
        return self.status.lower() == "online"


class UplinkStatus(msgspec.Struct, frozen=True, kw_only=True):
    """cam-bus's reply about a camera's uplink to the media shard."""

    camera_id: str
    state: str
    reported_at: datetime
    central_path: str | None = None
    container_name: str | None = None
    exit_code: int | None = None
    error: str | None = None

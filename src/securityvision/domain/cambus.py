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

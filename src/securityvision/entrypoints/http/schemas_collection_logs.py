"""HTTP bodies of ``/collection-logs``, in the original's wire shapes."""

from datetime import datetime

import msgspec

from securityvision.application.collection_logs import ReadingDraft
from securityvision.domain.rtls import CollectionLog


class CollectionLogCreate(msgspec.Struct, frozen=True, kw_only=True):
    """``created_at`` (the reading's time) is an addition: absent, the reading is now."""

    device_id: int
    tag_id: int
    rssi: int
    raw_payload: str | None = None
    created_at: datetime | None = None

    def draft(self) -> ReadingDraft:
        return ReadingDraft(
            device_id=self.device_id,
            tag_id=self.tag_id,
            rssi=self.rssi,
            raw_payload=self.raw_payload,
            created_at=self.created_at,
        )


class CollectionLogRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    device_id: int
    tag_id: int
    rssi: int
    raw_payload: str | None
    created_at: datetime
    received_at: datetime

    @classmethod
    def of(cls, log: CollectionLog) -> "CollectionLogRead":
        return cls(
            id=log.id,
            device_id=log.device_id,
            tag_id=log.tag_id,
            rssi=log.rssi,
            raw_payload=log.raw_payload,
            created_at=log.created_at,
            received_at=log.received_at,
        )

"""Stored readings (``collection_logs``): browsing them, and the manual corrections an
administrator makes (a reading entered by hand, a bogus one removed)."""

from datetime import datetime, timedelta

import msgspec

from securityvision.application.alerts import AlertEngine
from securityvision.application.ports import Clock, UnitOfWorkFactory
from securityvision.application.presence import PresenceFollower
from securityvision.domain.errors import InvalidInput, NotFound
from securityvision.domain.presence import Sighting
from securityvision.domain.rtls import (
    MAX_FUTURE_SKEW_SECONDS,
    CollectionLog,
    NewCollectionLog,
    as_utc,
    check_raw_payload,
    check_rssi,
)


class ReadingDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A reading entered by hand; ``created_at`` None is now."""

    device_id: int
    tag_id: int
    rssi: int
    raw_payload: str | None = None
    created_at: datetime | None = None


def _log_not_found(log_id: int) -> NotFound:
    return NotFound(f"collection log {log_id} not found", code="collection_log_not_found")


class AddCollectionLog:
    """Store one reading entered by hand.

    - The device and the tag must exist (readings carry no foreign keys, so this is checked
      here).
    - RSSI within -127..20; ``raw_payload`` at most 4096 characters.
    - Its time defaults to now; a time without a zone is UTC; more than 5 minutes ahead is
      refused (``future_timestamp``), as it is from gateways.
    - The same tag read by the same device at the same instant is one reading
      (``reading_exists``).
    - Like a gateway's, the reading moves the tag's sessions and position, and its alerts.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        presence: PresenceFollower | None = None,
        alerts: AlertEngine | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._presence = presence or PresenceFollower()
        self._alerts = alerts

    async def execute(self, draft: ReadingDraft) -> CollectionLog:
        check_rssi(draft.rssi)
        check_raw_payload(draft.raw_payload)
        now = self._clock.now()
        created_at = now if draft.created_at is None else as_utc(draft.created_at)
        if created_at > now + timedelta(seconds=MAX_FUTURE_SKEW_SECONDS):
            raise InvalidInput(
                "created_at is more than 5 minutes in the future", code="future_timestamp"
            )
        async with self._uow() as uow:
            if await uow.devices.get(draft.device_id) is None:
                raise NotFound(f"device {draft.device_id} not found", code="device_not_found")
            if await uow.tags.get(draft.tag_id) is None:
                raise NotFound(f"tag {draft.tag_id} not found", code="tag_not_found")
            log = await uow.collection_logs.add(
                NewCollectionLog(
                    device_id=draft.device_id,
                    tag_id=draft.tag_id,
                    rssi=draft.rssi,
                    created_at=created_at,
                    received_at=now,
                    raw_payload=draft.raw_payload,
                )
            )
            await self._presence.follow(
                uow,
                [
                    Sighting(
                        tag_id=log.tag_id, device_id=log.device_id, ts=log.created_at, rssi=log.rssi
                    )
                ],
            )
            if self._alerts is not None:
                await self._alerts.follow(uow, tag_ids={log.tag_id})
            await uow.commit()
        return log


class GetCollectionLog:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, log_id: int) -> CollectionLog:
        async with self._uow() as uow:
            log = await uow.collection_logs.get(log_id)
        if log is None:
            raise _log_not_found(log_id)
        return log


class ListCollectionLogs:
    """Readings newest first; ``device_id``, ``tag_id`` and the inclusive ``from_ts`` ..
    ``to_ts`` window filter before paging (the original paged first). Times without a zone
    are UTC."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self,
        *,
        device_id: int | None = None,
        tag_id: int | None = None,
        from_ts: datetime | None = None,
        to_ts: datetime | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> list[CollectionLog]:
        async with self._uow() as uow:
            logs = await uow.collection_logs.list(
                device_id=device_id,
                tag_id=tag_id,
                from_ts=None if from_ts is None else as_utc(from_ts),
                to_ts=None if to_ts is None else as_utc(to_ts),
                skip=skip,
                limit=limit,
            )
        return list(logs)


class DeleteCollectionLog:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, log_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.collection_logs.delete(log_id):
                raise _log_not_found(log_id)
            await uow.commit()


__all__ = [
    "AddCollectionLog",
    "DeleteCollectionLog",
    "GetCollectionLog",
    "ListCollectionLogs",
    "ReadingDraft",
]

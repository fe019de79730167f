"""What was published to cam-bus, and cameras' uplinks, in PostgreSQL."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from securityvision.adapters.postgres.rows import translate
from securityvision.domain.cambus_publishing import (
    CameraPublication,
    StopReason,
    StreamState,
    Uplink,
)
from securityvision.domain.errors import Conflict

_PUBLICATION_COLUMNS = "device_id, device_segment, topic, digest"
_UPLINK_COLUMNS = (
    "device_id, topics, request, ttl_seconds, started_at, expires_at, stopped_at, stop_reason,"
    " state, state_at, state_error, exit_code, container_name, central_path"
)


class PostgresCameraPublicationRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def get(self, device_id: int) -> CameraPublication | None:
        cursor = await self._conn.execute(
            f"SELECT {_PUBLICATION_COLUMNS} FROM camera_info_publications WHERE device_id = %s",
            [device_id],
        )
        row = await cursor.fetchone()
        return None if row is None else CameraPublication(**row)

    async def find_by_segment(self, device_segment: str) -> CameraPublication | None:
        cursor = await self._conn.execute(
            f"SELECT {_PUBLICATION_COLUMNS} FROM camera_info_publications"
            " WHERE device_segment = %s",
            [device_segment],
        )
        row = await cursor.fetchone()
        return None if row is None else CameraPublication(**row)

    async def save(self, publication: CameraPublication) -> None:
        try:
            await self._conn.execute(
                "INSERT INTO camera_info_publications (device_id, device_segment, topic, digest)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE"
                " SET device_segment = EXCLUDED.device_segment, topic = EXCLUDED.topic,"
                " digest = EXCLUDED.digest, published_at = now()",
                [
                    publication.device_id,
                    publication.device_segment,
                    publication.topic,
                    publication.digest,
                ],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(
                exc,
                {
                    "camera_info_publications_segment_key": Conflict(
                        f"another camera is published as {publication.device_segment!r}",
                        code="camera_topic_taken",
                    )
                },
            ) from exc

    async def delete(self, device_id: int) -> None:
        await self._conn.execute(
            "DELETE FROM camera_info_publications WHERE device_id = %s", [device_id]
        )


def _uplink(row: dict[str, Any]) -> Uplink:
    stream = None
    if row["state"] is not None and row["state_at"] is not None:
        stream = StreamState(
            state=row["state"],
            reported_at=row["state_at"],
            error=row["state_error"],
            exit_code=row["exit_code"],
            container_name=row["container_name"],
            central_path=row["central_path"],
        )
    return Uplink(
        device_id=row["device_id"],
        topics=row["topics"],
        request=row["request"],
        ttl_seconds=row["ttl_seconds"],
        started_at=row["started_at"],
        expires_at=row["expires_at"],
        stopped_at=row["stopped_at"],
        stop_reason=None if row["stop_reason"] is None else StopReason(row["stop_reason"]),
        stream=stream,
    )


class PostgresCameraUplinkRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def get(self, device_id: int, *, for_update: bool = False) -> Uplink | None:
        lock = " FOR UPDATE" if for_update else ""
        cursor = await self._conn.execute(
            f"SELECT {_UPLINK_COLUMNS} FROM camera_uplinks WHERE device_id = %s{lock}",
            [device_id],
        )
        row = await cursor.fetchone()
        return None if row is None else _uplink(row)

    async def of_devices(self, device_ids: Collection[int]) -> Mapping[int, Uplink]:
        cursor = await self._conn.execute(
            f"SELECT {_UPLINK_COLUMNS} FROM camera_uplinks WHERE device_id = ANY(%s)",
            [list(device_ids)],
        )
        return {row["device_id"]: _uplink(row) for row in await cursor.fetchall()}

    async def save_lease(self, uplink: Uplink) -> None:
        # A camera deleted meanwhile has no row to keep (the foreign key would refuse it):
        # the INSERT ... SELECT inserts nothing then.
        await self._conn.execute(
            "INSERT INTO camera_uplinks (device_id, topics, request, ttl_seconds, started_at,"
            " expires_at, stopped_at, stop_reason)"
            " SELECT id, %s, %s, %s, %s, %s, %s, %s FROM devices WHERE id = %s"
            " ON CONFLICT (device_id) DO UPDATE SET topics = EXCLUDED.topics,"
            " request = EXCLUDED.request, ttl_seconds = EXCLUDED.ttl_seconds,"
            " started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at,"
            " stopped_at = EXCLUDED.stopped_at, stop_reason = EXCLUDED.stop_reason",
            [
                uplink.topics,
                None if uplink.request is None else Jsonb(uplink.request),
                uplink.ttl_seconds,
                uplink.started_at,
                uplink.expires_at,
                uplink.stopped_at,
                None if uplink.stop_reason is None else uplink.stop_reason.value,
                uplink.device_id,
            ],
        )

    async def expired(self, now: datetime, *, limit: int = 100) -> Sequence[Uplink]:
        cursor = await self._conn.execute(
            f"SELECT {_UPLINK_COLUMNS} FROM camera_uplinks"
            " WHERE stopped_at IS NULL AND expires_at <= %s"
            " ORDER BY expires_at, device_id LIMIT %s FOR UPDATE SKIP LOCKED",
            [now, limit],
        )
        return [_uplink(row) for row in await cursor.fetchall()]

    async def record_stream(self, device_id: int, stream: StreamState) -> bool:
        cursor = await self._conn.execute(
            "INSERT INTO camera_uplinks (device_id, state, state_at, state_error, exit_code,"
            " container_name, central_path)"
            " SELECT id, %s, %s, %s, %s, %s, %s FROM devices WHERE id = %s"
            " ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state,"
            " state_at = EXCLUDED.state_at, state_error = EXCLUDED.state_error,"
            " exit_code = EXCLUDED.exit_code, container_name = EXCLUDED.container_name,"
            " central_path = EXCLUDED.central_path"
            " WHERE camera_uplinks.state_at IS NULL"
            " OR camera_uplinks.state_at <= EXCLUDED.state_at",
            [
                stream.state,
                stream.reported_at,
                stream.error,
                stream.exit_code,
                stream.container_name,
                stream.central_path,
                device_id,
            ],
        )
        return cursor.rowcount > 0

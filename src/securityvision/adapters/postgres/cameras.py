"""Camera events, camera credentials and camera groups in PostgreSQL."""

from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.cameras import CameraGroup, DeviceEvent, NewCameraGroup, NewDeviceEvent
from securityvision.domain.errors import Conflict, DomainError, NotFound

_EVENT_COLUMNS = (
    "id, device_id, topic, analytic_type, event_id, payload, occurred_at, created_at, incident_id"
)


def _event(row: dict[str, Any]) -> DeviceEvent:
    return DeviceEvent(**(row | {"payload": row["payload"] or {}}))


class PostgresDeviceEventRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, event: NewDeviceEvent) -> DeviceEvent:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO device_events (device_id, topic, analytic_type, event_id, payload,"
                f" occurred_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_EVENT_COLUMNS}",
                [
                    event.device_id,
                    event.topic,
                    event.analytic_type,
                    event.event_id,
                    Jsonb(event.payload),
                    event.occurred_at,
                ],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(
                exc,
                {
                    "device_events_identity": Conflict(
                        f"device {event.device_id} already has a {event.analytic_type} event"
                        f" {event.event_id!r}",
                        code="device_event_exists",
                    ),
                    "device_events_device_id_fkey": NotFound(
                        f"device {event.device_id} not found", code="device_not_found"
                    ),
                },
            ) from exc
        return _event(await one(cursor))

    async def get(self, event_id: int) -> DeviceEvent | None:
        cursor = await self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM device_events WHERE id = %s", [event_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _event(row)

    async def list_for_device(self, device_id: int, *, limit: int = 100) -> Sequence[DeviceEvent]:
        cursor = await self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM device_events WHERE device_id = %s"
            " ORDER BY occurred_at DESC, id DESC LIMIT %s",
            [device_id, limit],
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def with_event_id(self, device_id: int, event_id: str) -> Sequence[DeviceEvent]:
        cursor = await self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM device_events WHERE device_id = %s AND event_id = %s"
            " ORDER BY id",
            [device_id, event_id],
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def set_incident(self, event_id: int, incident_id: int) -> None:
        await self._conn.execute(
            "UPDATE device_events SET incident_id = %s WHERE id = %s", [incident_id, event_id]
        )


class PostgresDeviceSecretRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def set_password(self, device_id: int, encrypted: bytes | None) -> None:
        await self._conn.execute(
            "UPDATE devices SET password_encrypted = %s WHERE id = %s", [encrypted, device_id]
        )

    async def password(self, device_id: int) -> bytes | None:
        cursor = await self._conn.execute(
            "SELECT password_encrypted FROM devices WHERE id = %s", [device_id]
        )
        row = await cursor.fetchone()
        if row is None or row["password_encrypted"] is None:
            return None
        return bytes(row["password_encrypted"])


_GROUP_SELECT = (
    "SELECT g.id, g.name, g.description, g.tenant, g.created_at, g.updated_at,"
    " coalesce(array_agg(d.device_id ORDER BY d.device_id)"
    " FILTER (WHERE d.device_id IS NOT NULL), '{}') AS device_ids"
    " FROM camera_groups g LEFT JOIN camera_group_devices d ON d.camera_group_id = g.id"
)


def _group(row: dict[str, Any]) -> CameraGroup:
    return CameraGroup(**(row | {"device_ids": tuple(row["device_ids"])}))


def _name_taken(name: str) -> dict[str, DomainError]:
    return {
        "camera_groups_name_key": Conflict(
            f"a camera group named {name!r} already exists", code="camera_group_name_taken"
        )
    }


class PostgresCameraGroupRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, group: NewCameraGroup) -> CameraGroup:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO camera_groups (name, description, tenant) VALUES (%s, %s, %s)"
                " RETURNING id",
                [group.name, group.description, group.tenant],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _name_taken(group.name)) from exc
        found = await self.get(int((await one(cursor))["id"]))
        if found is None:
            raise NotFound("camera group vanished", code="camera_group_not_found")
        return found

    async def get(self, group_id: int) -> CameraGroup | None:
        cursor = await self._conn.execute(
            f"{_GROUP_SELECT} WHERE g.id = %s GROUP BY g.id", [group_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _group(row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[CameraGroup]:
        cursor = await self._conn.execute(
            f"{_GROUP_SELECT} GROUP BY g.id ORDER BY g.id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [_group(row) for row in await cursor.fetchall()]

    async def update(self, group: CameraGroup) -> CameraGroup:
        try:
            await self._conn.execute(
                "UPDATE camera_groups SET name = %s, description = %s, tenant = %s,"
                " updated_at = now() WHERE id = %s",
                [group.name, group.description, group.tenant, group.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _name_taken(group.name)) from exc
        found = await self.get(group.id)
        if found is None:
            raise NotFound(f"camera group {group.id} not found", code="camera_group_not_found")
        return found

    async def set_devices(self, group_id: int, device_ids: Collection[int]) -> None:
        await self._conn.execute(
            "DELETE FROM camera_group_devices WHERE camera_group_id = %s", [group_id]
        )
        if device_ids:
            await self._conn.execute(
                "INSERT INTO camera_group_devices (camera_group_id, device_id)"
                " SELECT %s, unnest(%s::bigint[])",
                [group_id, sorted(set(device_ids))],
            )
        await self._conn.execute(
            "UPDATE camera_groups SET updated_at = now() WHERE id = %s", [group_id]
        )

    async def delete(self, group_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM camera_groups WHERE id = %s", [group_id])
        return cursor.rowcount > 0

    async def groups_of_device(self, device_id: int) -> Sequence[int]:
        cursor = await self._conn.execute(
            "SELECT camera_group_id FROM camera_group_devices WHERE device_id = %s ORDER BY 1",
            [device_id],
        )
        return [int(row["camera_group_id"]) for row in await cursor.fetchall()]

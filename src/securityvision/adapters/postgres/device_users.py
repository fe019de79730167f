"""Enrolments of people on access controllers (``device_users``) in PostgreSQL."""

from collections.abc import Sequence

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.errors import Conflict, DomainError, NotFound
from securityvision.domain.sites import DeviceUser, NewDeviceUser

_COLUMNS = "id, device_id, person_id, device_user_id, status, created_at, updated_at"


def _errors(user: NewDeviceUser | DeviceUser) -> dict[str, DomainError]:
    return {
        "device_users_device_user_id_key": Conflict(
            f"device {user.device_id} already has a user {user.device_user_id!r}",
            code="device_user_id_taken",
        ),
        "device_users_device_id_fkey": NotFound(
            f"device {user.device_id} not found", code="device_not_found"
        ),
        "device_users_person_id_fkey": NotFound(
            f"person {user.person_id} not found", code="person_not_found"
        ),
    }


class PostgresDeviceUserRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, user: NewDeviceUser) -> DeviceUser:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO device_users (device_id, person_id, device_user_id, status)"
                f" VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}",
                [user.device_id, user.person_id, user.device_user_id, user.status],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(user)) from exc
        return DeviceUser(**await one(cursor))

    async def get(self, device_user_id: int) -> DeviceUser | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM device_users WHERE id = %s", [device_user_id]
        )
        row = await cursor.fetchone()
        return None if row is None else DeviceUser(**row)

    async def list(
        self,
        *,
        device_id: int | None = None,
        person_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[DeviceUser]:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM device_users"
            " WHERE (%(device)s::bigint IS NULL OR device_id = %(device)s)"
            " AND (%(person)s::bigint IS NULL OR person_id = %(person)s)"
            " ORDER BY id OFFSET %(skip)s LIMIT %(limit)s",
            {"device": device_id, "person": person_id, "skip": skip, "limit": limit},
        )
        return [DeviceUser(**row) for row in await cursor.fetchall()]

    async def update(self, user: DeviceUser) -> DeviceUser:
        try:
            cursor = await self._conn.execute(
                "UPDATE device_users SET device_id = %s, person_id = %s, device_user_id = %s,"
                f" status = %s, updated_at = now() WHERE id = %s RETURNING {_COLUMNS}",
                [user.device_id, user.person_id, user.device_user_id, user.status, user.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(user)) from exc
        return DeviceUser(**await one(cursor))

    async def delete(self, device_user_id: int) -> DeviceUser | None:
        cursor = await self._conn.execute(
            f"DELETE FROM device_users WHERE id = %s RETURNING {_COLUMNS}", [device_user_id]
        )
        row = await cursor.fetchone()
        return None if row is None else DeviceUser(**row)

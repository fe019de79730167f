"""Users in PostgreSQL."""

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

from securityvision.domain.errors import Conflict, StorageError
from securityvision.domain.identity import NewUser, Role, User

_COLUMNS = (
    "id, email, full_name, hashed_password, role, is_active, is_superuser,"
    " chatwoot_agent_id, created_at, updated_at"
)


def _user(row: dict[str, Any]) -> User:
    return User(**(row | {"role": Role(row["role"])}))


class PostgresUserRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, user: NewUser) -> User:
        # A duplicate aborts the whole unit of work, which is what every caller wants.
        try:
            cursor = await self._conn.execute(
                "INSERT INTO users (email, full_name, hashed_password, role, is_active,"
                " is_superuser, chatwoot_agent_id)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                [
                    user.email,
                    user.full_name,
                    user.hashed_password,
                    str(user.role),
                    user.is_active,
                    user.is_superuser,
                    user.chatwoot_agent_id,
                ],
            )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict("a user with this email already exists", code="email_taken") from exc
        return _user(await _one(cursor))

    async def get(self, user_id: int) -> User | None:
        cursor = await self._conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", [user_id])
        row = await cursor.fetchone()
        return None if row is None else _user(row)

    async def get_by_email(self, email: str) -> User | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower(%s)", [email]
        )
        row = await cursor.fetchone()
        return None if row is None else _user(row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[User]:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM users ORDER BY id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [_user(row) for row in await cursor.fetchall()]

    async def update(self, user: User) -> User:
        cursor = await self._conn.execute(
            "UPDATE users SET full_name = %s, hashed_password = %s, role = %s, is_active = %s,"
            " is_superuser = %s, chatwoot_agent_id = %s, updated_at = now()"
            f" WHERE id = %s RETURNING {_COLUMNS}",
            [
                user.full_name,
                user.hashed_password,
                str(user.role),
                user.is_active,
                user.is_superuser,
                user.chatwoot_agent_id,
                user.id,
            ],
        )
        return _user(await _one(cursor))

    async def delete(self, user_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM users WHERE id = %s", [user_id])
        return cursor.rowcount > 0

    async def count(self) -> int:
        cursor = await self._conn.execute("SELECT count(*) AS n FROM users")
        return int((await _one(cursor))["n"])

    async def count_admins(self) -> int:
        cursor = await self._conn.execute(
            "SELECT count(*) AS n FROM users WHERE is_active"
            " AND (is_superuser OR role IN ('ADMIN', 'SUPERADMIN'))"
        )
        return int((await _one(cursor))["n"])


async def _one(cursor: psycopg.AsyncCursor[DictRow]) -> dict[str, Any]:
    row = await cursor.fetchone()
    if row is None:
        raise StorageError("expected a row, got none")
    return row

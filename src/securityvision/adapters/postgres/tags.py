"""Tags, and the unknown MACs gateways heard, in PostgreSQL."""

from collections.abc import Sequence

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.errors import Conflict, DomainError, NotFound
from securityvision.domain.rtls import NewTag, Tag, UnknownTag

_COLUMNS = "id, mac_address, label, person_id, active, notes, created_at, updated_at"


def _errors(tag: NewTag | Tag) -> dict[str, DomainError]:
    return {
        "tags_mac_address_key": Conflict(
            "a tag with this MAC address already exists", code="tag_mac_taken"
        ),
        "tags_person_id_fkey": NotFound(
            f"person {tag.person_id} not found", code="person_not_found"
        ),
    }


class PostgresTagRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, tag: NewTag) -> Tag:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO tags (mac_address, label, person_id, active, notes)"
                f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                [tag.mac_address, tag.label, tag.person_id, tag.active, tag.notes],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(tag)) from exc
        return Tag(**await one(cursor))

    async def get(self, tag_id: int) -> Tag | None:
        cursor = await self._conn.execute(f"SELECT {_COLUMNS} FROM tags WHERE id = %s", [tag_id])
        row = await cursor.fetchone()
        return None if row is None else Tag(**row)

    async def get_by_mac(self, mac_address: str) -> Tag | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM tags WHERE mac_address = %s", [mac_address]
        )
        row = await cursor.fetchone()
        return None if row is None else Tag(**row)

    async def list(
        self, *, person_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Tag]:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM tags WHERE (%(person)s::bigint IS NULL"
            " OR person_id = %(person)s) ORDER BY id OFFSET %(skip)s LIMIT %(limit)s",
            {"person": person_id, "skip": skip, "limit": limit},
        )
        return [Tag(**row) for row in await cursor.fetchall()]

    async def update(self, tag: Tag) -> Tag:
        try:
            cursor = await self._conn.execute(
                "UPDATE tags SET mac_address = %s, label = %s, person_id = %s, active = %s,"
                f" notes = %s, updated_at = now() WHERE id = %s RETURNING {_COLUMNS}",
                [tag.mac_address, tag.label, tag.person_id, tag.active, tag.notes, tag.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(tag)) from exc
        return Tag(**await one(cursor))

    async def delete(self, tag_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM tags WHERE id = %s", [tag_id])
        if cursor.rowcount == 0:
            return False
        # Readings carry no foreign key (see migration 0002), so they go explicitly.
        await self._conn.execute("DELETE FROM collection_logs WHERE tag_id = %s", [tag_id])
        return True


class PostgresUnknownTagRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[UnknownTag]:
        cursor = await self._conn.execute(
            "SELECT u.mac_address, u.last_device_id, d.name AS last_device_name, u.last_rssi,"
            " u.first_seen_at, u.last_seen_at, u.readings_count"
            " FROM unknown_tags u LEFT JOIN devices d ON d.id = u.last_device_id"
            " ORDER BY u.last_seen_at DESC, u.mac_address OFFSET %s LIMIT %s",
            [skip, limit],
        )
        return [UnknownTag(**row) for row in await cursor.fetchall()]

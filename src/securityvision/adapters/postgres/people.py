"""People, person groups and their memberships in PostgreSQL."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.errors import Conflict, DomainError, NotFound
from securityvision.domain.people import NewPerson, NewPersonGroup, Person, PersonGroup

_PERSON_COLUMNS = (
    "id, full_name, document_id, email, phone, user_type, active, notes, created_at, updated_at"
)
_GROUP_COLUMNS = "id, name, description, created_at, updated_at"


def _group_errors() -> dict[str, DomainError]:
    return {
        "person_groups_name_key": Conflict(
            "a person group with this name already exists", code="person_group_name_taken"
        )
    }


def _membership_errors() -> dict[str, DomainError]:
    # Only reachable when a person or group is deleted concurrently: callers check first.
    return {
        "person_group_memberships_person_id_fkey": NotFound(
            "a person of the membership no longer exists", code="person_not_found"
        ),
        "person_group_memberships_group_id_fkey": NotFound(
            "the group of the membership no longer exists", code="person_group_not_found"
        ),
    }


class PostgresPersonRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, person: NewPerson) -> Person:
        cursor = await self._conn.execute(
            "INSERT INTO people (full_name, document_id, email, phone, user_type, active, notes)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_PERSON_COLUMNS}",
            [
                person.full_name,
                person.document_id,
                person.email,
                person.phone,
                person.user_type,
                person.active,
                person.notes,
            ],
        )
        return Person(**await one(cursor))

    async def get(self, person_id: int) -> Person | None:
        cursor = await self._conn.execute(
            f"SELECT {_PERSON_COLUMNS} FROM people WHERE id = %s", [person_id]
        )
        row = await cursor.fetchone()
        return None if row is None else Person(**row)

    async def get_many(self, person_ids: Collection[int]) -> Sequence[Person]:
        cursor = await self._conn.execute(
            f"SELECT {_PERSON_COLUMNS} FROM people WHERE id = ANY(%s::bigint[]) ORDER BY id",
            [list(person_ids)],
        )
        return [Person(**row) for row in await cursor.fetchall()]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Person]:
        cursor = await self._conn.execute(
            f"SELECT {_PERSON_COLUMNS} FROM people ORDER BY id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [Person(**row) for row in await cursor.fetchall()]

    async def update(self, person: Person) -> Person:
        cursor = await self._conn.execute(
            "UPDATE people SET full_name = %s, document_id = %s, email = %s, phone = %s,"
            " user_type = %s, active = %s, notes = %s, updated_at = now()"
            f" WHERE id = %s RETURNING {_PERSON_COLUMNS}",
            [
                person.full_name,
                person.document_id,
                person.email,
                person.phone,
                person.user_type,
                person.active,
                person.notes,
                person.id,
            ],
        )
        return Person(**await one(cursor))

    async def delete(self, person_id: int) -> bool:
        # Memberships cascade and tags are unassigned by the foreign keys themselves.
        cursor = await self._conn.execute("DELETE FROM people WHERE id = %s", [person_id])
        return cursor.rowcount > 0


class PostgresPersonGroupRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, group: NewPersonGroup) -> PersonGroup:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO person_groups (name, description) VALUES (%s, %s)"
                f" RETURNING {_GROUP_COLUMNS}",
                [group.name, group.description],
            )
        except psycopg.errors.UniqueViolation as exc:
            raise translate(exc, _group_errors()) from exc
        return PersonGroup(**await one(cursor))

    async def get(self, group_id: int) -> PersonGroup | None:
        cursor = await self._conn.execute(
            f"SELECT {_GROUP_COLUMNS} FROM person_groups WHERE id = %s", [group_id]
        )
        row = await cursor.fetchone()
        return None if row is None else PersonGroup(**row)

    async def get_many(self, group_ids: Collection[int]) -> Sequence[PersonGroup]:
        cursor = await self._conn.execute(
            f"SELECT {_GROUP_COLUMNS} FROM person_groups WHERE id = ANY(%s::bigint[]) ORDER BY id",
            [list(group_ids)],
        )
        return [PersonGroup(**row) for row in await cursor.fetchall()]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[PersonGroup]:
        cursor = await self._conn.execute(
            f"SELECT {_GROUP_COLUMNS} FROM person_groups ORDER BY id OFFSET %s LIMIT %s",
            [skip, limit],
        )
        return [PersonGroup(**row) for row in await cursor.fetchall()]

    async def update(self, group: PersonGroup) -> PersonGroup:
        try:
            cursor = await self._conn.execute(
                "UPDATE person_groups SET name = %s, description = %s, updated_at = now()"
                f" WHERE id = %s RETURNING {_GROUP_COLUMNS}",
                [group.name, group.description, group.id],
            )
        except psycopg.errors.UniqueViolation as exc:
            raise translate(exc, _group_errors()) from exc
        return PersonGroup(**await one(cursor))

    async def delete(self, group_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM person_groups WHERE id = %s", [group_id])
        return cursor.rowcount > 0

    async def members(self, group_id: int) -> Sequence[Person]:
        cursor = await self._conn.execute(
            f"SELECT {_prefixed('p', _PERSON_COLUMNS)} FROM people p"
            " JOIN person_group_memberships m ON m.person_id = p.id"
            " WHERE m.group_id = %s ORDER BY p.id",
            [group_id],
        )
        return [Person(**row) for row in await cursor.fetchall()]

    async def set_members(self, group_id: int, person_ids: Collection[int]) -> None:
        await self._conn.execute(
            "DELETE FROM person_group_memberships WHERE group_id = %s", [group_id]
        )
        await self._insert_memberships([(group_id, p) for p in person_ids])

    async def groups_of(self, person_ids: Collection[int]) -> Mapping[int, Sequence[PersonGroup]]:
        cursor = await self._conn.execute(
            f"SELECT m.person_id AS member_id, {_prefixed('g', _GROUP_COLUMNS)}"
            " FROM person_groups g JOIN person_group_memberships m ON m.group_id = g.id"
            " WHERE m.person_id = ANY(%s::bigint[]) ORDER BY m.person_id, g.id",
            [list(person_ids)],
        )
        found: dict[int, list[PersonGroup]] = defaultdict(list)
        for row in await cursor.fetchall():
            member_id = row.pop("member_id")
            found[member_id].append(PersonGroup(**row))
        return dict(found)

    async def set_groups_of(self, person_id: int, group_ids: Collection[int]) -> None:
        await self._conn.execute(
            "DELETE FROM person_group_memberships WHERE person_id = %s", [person_id]
        )
        await self._insert_memberships([(g, person_id) for g in group_ids])

    async def _insert_memberships(self, pairs: Sequence[tuple[int, int]]) -> None:
        if not pairs:
            return
        try:
            await self._conn.execute(
                "INSERT INTO person_group_memberships (group_id, person_id)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING",
                [[g for g, _ in pairs], [p for _, p in pairs]],
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise translate(exc, _membership_errors()) from exc


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))

"""Locations, their floors (``location_floors``) and their rules in PostgreSQL."""

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.adapters.postgres.sites import ids_of, lock_row
from securityvision.domain.errors import DomainError, NotFound
from securityvision.domain.sites import (
    Location,
    LocationRule,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
)

Connection = psycopg.AsyncConnection[DictRow]

_LOCATION_SELECT = (
    "SELECT l.id, l.name, l.description, l.status, l.created_at, l.updated_at,"
    " ARRAY(SELECT lf.floor_id FROM location_floors lf WHERE lf.location_id = l.id"
    " ORDER BY lf.floor_id) AS floor_ids"
    " FROM locations l"
)
_RULE_WRITABLE = tuple(NewLocationRule.__struct_fields__)
_RULE_COLUMNS = ", ".join(("id", *_RULE_WRITABLE, "created_at", "updated_at"))


def _location(row: dict[str, Any]) -> Location:
    return Location(**(row | {"floor_ids": tuple(row["floor_ids"])}))


def _floor_errors() -> dict[str, DomainError]:
    # Only reachable when a floor is deleted concurrently: the use cases check first.
    return {
        "location_floors_floor_id_fkey": NotFound(
            "a floor of the location no longer exists", code="floor_not_found"
        )
    }


def _rule_errors(rule: NewLocationRule | LocationRule) -> dict[str, DomainError]:
    return {
        "location_rules_location_id_fkey": NotFound(
            f"location {rule.location_id} not found", code="location_not_found"
        )
    }


class PostgresLocationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, location: NewLocation) -> Location:
        cursor = await self._conn.execute(
            "INSERT INTO locations (name, description, status) VALUES (%s, %s, %s) RETURNING id",
            [location.name, location.description, location.status],
        )
        location_id: int = (await one(cursor))["id"]
        await self._set_floors(location_id, location.floor_ids)
        return await self._read(location_id)

    async def get(self, location_id: int) -> Location | None:
        cursor = await self._conn.execute(f"{_LOCATION_SELECT} WHERE l.id = %s", [location_id])
        row = await cursor.fetchone()
        return None if row is None else _location(row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Location]:
        cursor = await self._conn.execute(
            f"{_LOCATION_SELECT} ORDER BY l.id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [_location(row) for row in await cursor.fetchall()]

    async def update(self, location: Location) -> Location:
        await self._conn.execute(
            "UPDATE locations SET name = %s, description = %s, status = %s, updated_at = now()"
            " WHERE id = %s",
            [location.name, location.description, location.status, location.id],
        )
        await self._conn.execute(
            "DELETE FROM location_floors WHERE location_id = %s", [location.id]
        )
        await self._set_floors(location.id, location.floor_ids)
        return await self._read(location.id)

    async def delete(self, location_id: int) -> SiteDeletion | None:
        if not await lock_row(self._conn, "locations", location_id):
            return None
        rules = await ids_of(
            self._conn,
            "SELECT id FROM location_rules WHERE location_id = %s ORDER BY id",
            [location_id],
        )
        devices = await ids_of(
            self._conn,
            "UPDATE devices SET location_id = NULL, updated_at = now() WHERE location_id = %s"
            " RETURNING id",
            [location_id],
        )
        # Its floors' links and its rules go by their cascading keys.
        await self._conn.execute("DELETE FROM locations WHERE id = %s", [location_id])
        return SiteDeletion(
            location_ids=(location_id,),
            location_rule_ids=rules,
            unplaced_device_ids=tuple(sorted(devices)),
        )

    async def _set_floors(self, location_id: int, floor_ids: Sequence[int]) -> None:
        if not floor_ids:
            return
        try:
            await self._conn.execute(
                "INSERT INTO location_floors (location_id, floor_id)"
                " SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [location_id, list(floor_ids)],
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise translate(exc, _floor_errors()) from exc

    async def _read(self, location_id: int) -> Location:
        cursor = await self._conn.execute(f"{_LOCATION_SELECT} WHERE l.id = %s", [location_id])
        return _location(await one(cursor))


class PostgresLocationRuleRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, rule: NewLocationRule) -> LocationRule:
        placeholders = ", ".join(["%s"] * len(_RULE_WRITABLE))
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO location_rules ({', '.join(_RULE_WRITABLE)})"
                f" VALUES ({placeholders}) RETURNING {_RULE_COLUMNS}",
                [getattr(rule, name) for name in _RULE_WRITABLE],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _rule_errors(rule)) from exc
        return LocationRule(**await one(cursor))

    async def get(self, rule_id: int) -> LocationRule | None:
        cursor = await self._conn.execute(
            f"SELECT {_RULE_COLUMNS} FROM location_rules WHERE id = %s", [rule_id]
        )
        row = await cursor.fetchone()
        return None if row is None else LocationRule(**row)

    async def list(self, *, location_id: int) -> Sequence[LocationRule]:
        cursor = await self._conn.execute(
            f"SELECT {_RULE_COLUMNS} FROM location_rules WHERE location_id = %s ORDER BY id",
            [location_id],
        )
        return [LocationRule(**row) for row in await cursor.fetchall()]

    async def update(self, rule: LocationRule) -> LocationRule:
        assignments = ", ".join(f"{name} = %s" for name in _RULE_WRITABLE)
        try:
            cursor = await self._conn.execute(
                f"UPDATE location_rules SET {assignments}, updated_at = now() WHERE id = %s"
                f" RETURNING {_RULE_COLUMNS}",
                [*(getattr(rule, name) for name in _RULE_WRITABLE), rule.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _rule_errors(rule)) from exc
        return LocationRule(**await one(cursor))

    async def delete(self, rule_id: int) -> LocationRule | None:
        cursor = await self._conn.execute(
            f"DELETE FROM location_rules WHERE id = %s RETURNING {_RULE_COLUMNS}", [rule_id]
        )
        row = await cursor.fetchone()
        return None if row is None else LocationRule(**row)

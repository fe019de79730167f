"""Buildings, floors and floor plans in PostgreSQL.

Deleting a site lets the foreign keys cascade to the sites below it (floors, plans, the
floors' place in locations) but never to devices: devices placed on a removed site are taken
off it explicitly first (placement and position cleared, ``updated_at`` moved), and the
deletion reports every id it touched.
"""

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.errors import Conflict, DomainError, NotFound
from securityvision.domain.sites import (
    Building,
    Floor,
    FloorPlan,
    NewBuilding,
    NewFloor,
    NewFloorPlan,
    SiteDeletion,
)

Connection = psycopg.AsyncConnection[DictRow]

_BUILDING_COLUMNS = "id, name, code, description, address, created_at, updated_at"
_FLOOR_COLUMNS = "id, building_id, name, level, code, description, created_at, updated_at"
_PLAN_WRITABLE = tuple(NewFloorPlan.__struct_fields__)
_PLAN_COLUMNS = ", ".join(f"p.{c}" for c in ("id", *_PLAN_WRITABLE, "created_at", "updated_at"))
# A plan comes with the building of its floor, which the front end reads on it.
_PLAN_SELECT = f"SELECT {_PLAN_COLUMNS}, f.building_id FROM floor_plans p"
_PLAN_JOIN = " JOIN floors f ON f.id = p.floor_id"


def _building_errors(building: NewBuilding | Building) -> dict[str, DomainError]:
    return {
        "buildings_code_key": Conflict(
            f"a building with code {building.code!r} already exists", code="building_code_taken"
        )
    }


def _floor_errors(floor: NewFloor | Floor) -> dict[str, DomainError]:
    return {
        "floors_building_id_fkey": NotFound(
            f"building {floor.building_id} not found", code="building_not_found"
        )
    }


def _plan_errors(plan: NewFloorPlan | FloorPlan) -> dict[str, DomainError]:
    return {
        "floor_plans_floor_id_fkey": NotFound(
            f"floor {plan.floor_id} not found", code="floor_not_found"
        )
    }


async def ids_of(
    conn: Connection, query: str, params: Sequence[Any] | Mapping[str, Any]
) -> tuple[int, ...]:
    """The ``id`` column of every row ``query`` returns."""
    cursor = await conn.execute(query, params)
    return tuple(row["id"] for row in await cursor.fetchall())


async def lock_row(conn: Connection, table: str, row_id: int) -> bool:
    """Lock the row about to be deleted, so that nothing is added under it meanwhile
    (inserting a child takes a key-share lock on its parent); False when there is none."""
    cursor = await conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row_id])
    return await cursor.fetchone() is not None


async def _remove_sites(
    conn: Connection,
    *,
    building_ids: Collection[int] = (),
    floor_ids: Collection[int],
    floor_plan_ids: Collection[int],
) -> SiteDeletion:
    """Take devices off the sites and note the locations losing floors, then delete the
    topmost sites named (their children go by the cascading keys, already listed here)."""
    params = {"b": list(building_ids), "f": list(floor_ids), "p": list(floor_plan_ids)}
    devices = await ids_of(
        conn,
        "WITH gone AS (SELECT %(b)s::bigint[] AS b, %(f)s::bigint[] AS f, %(p)s::bigint[] AS p)"
        " UPDATE devices d SET"
        " building_id = CASE WHEN d.building_id = ANY(b) THEN NULL ELSE d.building_id END,"
        " floor_id = CASE WHEN d.floor_id = ANY(f) THEN NULL ELSE d.floor_id END,"
        " floor_plan_id = CASE WHEN d.floor_plan_id = ANY(p) THEN NULL ELSE d.floor_plan_id END,"
        " pos_x = CASE WHEN d.floor_plan_id = ANY(p) THEN NULL ELSE d.pos_x END,"
        " pos_y = CASE WHEN d.floor_plan_id = ANY(p) THEN NULL ELSE d.pos_y END,"
        " updated_at = now()"
        " FROM gone"
        " WHERE d.building_id = ANY(b) OR d.floor_id = ANY(f) OR d.floor_plan_id = ANY(p)"
        " RETURNING d.id",
        params,
    )
    locations = await ids_of(
        conn,
        "SELECT DISTINCT location_id AS id FROM location_floors"
        " WHERE floor_id = ANY(%(f)s::bigint[]) ORDER BY location_id",
        params,
    )
    if building_ids:
        await conn.execute("DELETE FROM buildings WHERE id = ANY(%(b)s::bigint[])", params)
    elif floor_ids:
        await conn.execute("DELETE FROM floors WHERE id = ANY(%(f)s::bigint[])", params)
    else:
        await conn.execute("DELETE FROM floor_plans WHERE id = ANY(%(p)s::bigint[])", params)
    return SiteDeletion(
        building_ids=tuple(building_ids),
        floor_ids=tuple(floor_ids),
        floor_plan_ids=tuple(floor_plan_ids),
        unplaced_device_ids=tuple(sorted(devices)),
        changed_location_ids=locations,
    )


async def _plans_of_floors(conn: Connection, floor_ids: Sequence[int]) -> tuple[int, ...]:
    return await ids_of(
        conn,
        "SELECT id FROM floor_plans WHERE floor_id = ANY(%s::bigint[]) ORDER BY id",
        [list(floor_ids)],
    )


class PostgresBuildingRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, building: NewBuilding) -> Building:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO buildings (name, code, description, address) VALUES (%s, %s, %s, %s)"
                f" RETURNING {_BUILDING_COLUMNS}",
                [building.name, building.code, building.description, building.address],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _building_errors(building)) from exc
        return Building(**await one(cursor))

    async def get(self, building_id: int) -> Building | None:
        cursor = await self._conn.execute(
            f"SELECT {_BUILDING_COLUMNS} FROM buildings WHERE id = %s", [building_id]
        )
        row = await cursor.fetchone()
        return None if row is None else Building(**row)

    async def get_by_code(self, code: str) -> Building | None:
        cursor = await self._conn.execute(
            f"SELECT {_BUILDING_COLUMNS} FROM buildings WHERE code = %s", [code]
        )
        row = await cursor.fetchone()
        return None if row is None else Building(**row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Building]:
        cursor = await self._conn.execute(
            f"SELECT {_BUILDING_COLUMNS} FROM buildings ORDER BY id OFFSET %s LIMIT %s",
            [skip, limit],
        )
        return [Building(**row) for row in await cursor.fetchall()]

    async def update(self, building: Building) -> Building:
        try:
            cursor = await self._conn.execute(
                "UPDATE buildings SET name = %s, code = %s, description = %s, address = %s,"
                f" updated_at = now() WHERE id = %s RETURNING {_BUILDING_COLUMNS}",
                [
                    building.name,
                    building.code,
                    building.description,
                    building.address,
                    building.id,
                ],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _building_errors(building)) from exc
        return Building(**await one(cursor))

    async def delete(self, building_id: int) -> SiteDeletion | None:
        if not await lock_row(self._conn, "buildings", building_id):
            return None
        floors = await ids_of(
            self._conn, "SELECT id FROM floors WHERE building_id = %s ORDER BY id", [building_id]
        )
        return await _remove_sites(
            self._conn,
            building_ids=[building_id],
            floor_ids=floors,
            floor_plan_ids=await _plans_of_floors(self._conn, floors),
        )


class PostgresFloorRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, floor: NewFloor) -> Floor:
        try:
            cursor = await self._conn.execute(
                "INSERT INTO floors (building_id, name, level, code, description)"
                f" VALUES (%s, %s, %s, %s, %s) RETURNING {_FLOOR_COLUMNS}",
                [floor.building_id, floor.name, floor.level, floor.code, floor.description],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _floor_errors(floor)) from exc
        return Floor(**await one(cursor))

    async def get(self, floor_id: int) -> Floor | None:
        cursor = await self._conn.execute(
            f"SELECT {_FLOOR_COLUMNS} FROM floors WHERE id = %s", [floor_id]
        )
        row = await cursor.fetchone()
        return None if row is None else Floor(**row)

    async def get_many(self, floor_ids: Collection[int]) -> Sequence[Floor]:
        cursor = await self._conn.execute(
            f"SELECT {_FLOOR_COLUMNS} FROM floors WHERE id = ANY(%s::bigint[]) ORDER BY id",
            [list(floor_ids)],
        )
        return [Floor(**row) for row in await cursor.fetchall()]

    async def list(
        self, *, building_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Floor]:
        cursor = await self._conn.execute(
            f"SELECT {_FLOOR_COLUMNS} FROM floors"
            " WHERE (%(building)s::bigint IS NULL OR building_id = %(building)s)"
            " ORDER BY id OFFSET %(skip)s LIMIT %(limit)s",
            {"building": building_id, "skip": skip, "limit": limit},
        )
        return [Floor(**row) for row in await cursor.fetchall()]

    async def update(self, floor: Floor) -> Floor:
        try:
            cursor = await self._conn.execute(
                "UPDATE floors SET building_id = %s, name = %s, level = %s, code = %s,"
                f" description = %s, updated_at = now() WHERE id = %s RETURNING {_FLOOR_COLUMNS}",
                [
                    floor.building_id,
                    floor.name,
                    floor.level,
                    floor.code,
                    floor.description,
                    floor.id,
                ],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _floor_errors(floor)) from exc
        return Floor(**await one(cursor))

    async def delete(self, floor_id: int) -> SiteDeletion | None:
        if not await lock_row(self._conn, "floors", floor_id):
            return None
        return await _remove_sites(
            self._conn,
            floor_ids=[floor_id],
            floor_plan_ids=await _plans_of_floors(self._conn, [floor_id]),
        )


class PostgresFloorPlanRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, plan: NewFloorPlan) -> FloorPlan:
        placeholders = ", ".join(["%s"] * len(_PLAN_WRITABLE))
        try:
            cursor = await self._conn.execute(
                f"WITH p AS (INSERT INTO floor_plans ({', '.join(_PLAN_WRITABLE)})"
                f" VALUES ({placeholders}) RETURNING *)"
                f" SELECT {_PLAN_COLUMNS}, f.building_id FROM p{_PLAN_JOIN}",
                [getattr(plan, name) for name in _PLAN_WRITABLE],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _plan_errors(plan)) from exc
        return FloorPlan(**await one(cursor))

    async def get(self, plan_id: int) -> FloorPlan | None:
        cursor = await self._conn.execute(f"{_PLAN_SELECT}{_PLAN_JOIN} WHERE p.id = %s", [plan_id])
        row = await cursor.fetchone()
        return None if row is None else FloorPlan(**row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[FloorPlan]:
        cursor = await self._conn.execute(
            f"{_PLAN_SELECT}{_PLAN_JOIN} ORDER BY p.id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [FloorPlan(**row) for row in await cursor.fetchall()]

    async def in_building(self, building_id: int) -> Sequence[FloorPlan]:
        cursor = await self._conn.execute(
            f"{_PLAN_SELECT}{_PLAN_JOIN} WHERE f.building_id = %s ORDER BY p.name, p.id",
            [building_id],
        )
        return [FloorPlan(**row) for row in await cursor.fetchall()]

    async def update(self, plan: FloorPlan) -> FloorPlan:
        assignments = ", ".join(f"{name} = %s" for name in _PLAN_WRITABLE)
        try:
            cursor = await self._conn.execute(
                f"WITH p AS (UPDATE floor_plans SET {assignments}, updated_at = now()"
                " WHERE id = %s RETURNING *)"
                f" SELECT {_PLAN_COLUMNS}, f.building_id FROM p{_PLAN_JOIN}",
                [*(getattr(plan, name) for name in _PLAN_WRITABLE), plan.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _plan_errors(plan)) from exc
        return FloorPlan(**await one(cursor))

    async def delete(self, plan_id: int) -> SiteDeletion | None:
        if not await lock_row(self._conn, "floor_plans", plan_id):
            return None
        return await _remove_sites(self._conn, floor_ids=(), floor_plan_ids=[plan_id])

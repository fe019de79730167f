"""Devices in PostgreSQL."""

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.devices import Device, DeviceType, NewDevice
from securityvision.domain.errors import Conflict, DomainError, NotFound

# What an operator sets, in NewDevice's order; reported_online belongs to the worker.
_WRITABLE = tuple(NewDevice.__struct_fields__)
_COLUMNS = ", ".join(("id", *_WRITABLE, "reported_online", "created_at", "updated_at"))


def _errors(device: NewDevice | Device) -> dict[str, DomainError]:
    return {
        "devices_code_key": Conflict(
            f"a device with code {device.code!r} already exists", code="device_code_taken"
        ),
        "devices_mac_address_key": Conflict(
            f"a device with MAC address {device.mac_address!r} already exists",
            code="device_mac_taken",
        ),
        "devices_floor_plan_id_fkey": NotFound(
            f"floor plan {device.floor_plan_id} not found", code="floor_plan_not_found"
        ),
        "devices_building_id_fkey": NotFound(
            f"building {device.building_id} not found", code="building_not_found"
        ),
        "devices_floor_id_fkey": NotFound(
            f"floor {device.floor_id} not found", code="floor_not_found"
        ),
        "devices_location_id_fkey": NotFound(
            f"location {device.location_id} not found", code="location_not_found"
        ),
    }


def _values(device: NewDevice | Device) -> list[Any]:
    values: list[Any] = []
    for name in _WRITABLE:
        value = getattr(device, name)
        if name == "analytics":
            value = Jsonb(list(value))
        elif name == "type":
            value = str(value)
        values.append(value)
    return values


def _device(row: dict[str, Any]) -> Device:
    return Device(
        **(row | {"type": DeviceType(row["type"]), "analytics": tuple(row["analytics"] or ())})
    )


class PostgresDeviceRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, device: NewDevice) -> Device:
        placeholders = ", ".join(["%s"] * len(_WRITABLE))
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO devices ({', '.join(_WRITABLE)}) VALUES ({placeholders})"
                f" RETURNING {_COLUMNS}",
                _values(device),
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(device)) from exc
        return _device(await one(cursor))

    async def get(self, device_id: int) -> Device | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE id = %s", [device_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _device(row)

    async def get_for_update(self, device_id: int) -> Device | None:
        # FOR UPDATE conflicts with the ingest path's FOR NO KEY UPDATE on the same row, so a
        # batch adding readings to this device either commits first or sees it gone.
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE id = %s FOR UPDATE", [device_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _device(row)

    async def list(
        self,
        *,
        type: DeviceType | None = None,
        floor_plan_id: int | None = None,
        floor_id: int | None = None,
        skip: int = 0,
        limit: int | None = 100,
    ) -> Sequence[Device]:
        # LIMIT NULL is no limit at all.
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE (%(type)s::text IS NULL OR type = %(type)s)"
            " AND (%(plan)s::bigint IS NULL OR floor_plan_id = %(plan)s)"
            " AND (%(floor)s::bigint IS NULL OR floor_id = %(floor)s)"
            " ORDER BY id OFFSET %(skip)s LIMIT %(limit)s",
            {
                "type": None if type is None else str(type),
                "plan": floor_plan_id,
                "floor": floor_id,
                "skip": skip,
                "limit": limit,
            },
        )
        return [_device(row) for row in await cursor.fetchall()]

    async def find_camera(self, code: str) -> Device | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE type = 'CAMERA' AND lower(code) = lower(%s)"
            " ORDER BY id LIMIT 1",
            [code],
        )
        row = await cursor.fetchone()
        return None if row is None else _device(row)

    async def find_by_mac(self, mac_address: str) -> Sequence[Device]:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM devices WHERE mac_address = %s ORDER BY id", [mac_address]
        )
        return [_device(row) for row in await cursor.fetchall()]

    async def update(self, device: Device) -> Device:
        assignments = ", ".join(f"{name} = %s" for name in _WRITABLE)
        try:
            cursor = await self._conn.execute(
                f"UPDATE devices SET {assignments}, updated_at = now() WHERE id = %s"
                f" RETURNING {_COLUMNS}",
                [*_values(device), device.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _errors(device)) from exc
        return _device(await one(cursor))

    async def delete(self, device_id: int) -> bool:
        # Unknown tags forget the device and status events go with it by their foreign keys;
        # readings carry none (see migration 0002), so they go explicitly.
        cursor = await self._conn.execute("DELETE FROM devices WHERE id = %s", [device_id])
        if cursor.rowcount == 0:
            return False
        await self._conn.execute("DELETE FROM collection_logs WHERE device_id = %s", [device_id])
        return True

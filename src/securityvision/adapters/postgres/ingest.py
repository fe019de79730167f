"""RTLS ingestion in PostgreSQL: every statement works on a whole batch at once."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow, tuple_row

from securityvision.adapters.postgres.partitions import (
    ensure_daily_partitions,
    forget_daily_partitions,
)
from securityvision.application.ports import GatewaySighting, ReadingRow, UnknownTagSighting
from securityvision.application.presence import utc_day
from securityvision.domain.devices import DeviceStatusEvent
from securityvision.domain.rtls import gateway_code
from securityvision.domain.text import slug

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS collection_logs_stage (
    device_id   bigint,
    tag_id      bigint,
    rssi        smallint,
    created_at  timestamptz,
    received_at timestamptz,
    raw_payload varchar(4096)
) ON COMMIT DELETE ROWS
"""


_COLUMNS = "(device_id, tag_id, rssi, created_at, received_at, raw_payload)"
_COPY_READINGS = f"COPY collection_logs {_COLUMNS} FROM STDIN (FORMAT BINARY)"
_COPY_STAGE = f"COPY collection_logs_stage {_COLUMNS} FROM STDIN (FORMAT BINARY)"

# Readings already stored (a redelivery, a gateway flushing its buffer) are skipped by their
# key. The inserted rows come back only when some were skipped: in the usual batch all are
# new, and the count alone says so without sending 5,000 rows back.
_INSERT_STAGED = """
WITH inserted AS (
    INSERT INTO collection_logs (device_id, tag_id, rssi, created_at, received_at, raw_payload)
    SELECT device_id, tag_id, rssi, created_at, received_at, raw_payload
    FROM collection_logs_stage
    ON CONFLICT (tag_id, created_at, device_id) DO NOTHING
    RETURNING device_id, tag_id, rssi, created_at, received_at
)
SELECT n.count, i.device_id, i.tag_id, i.rssi, i.created_at, i.received_at
FROM (SELECT count(*) FROM inserted) AS n LEFT JOIN inserted AS i ON n.count < %(staged)s
"""


class PostgresIngestStore:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def first_received(
        self, receipts: Mapping[bytes, tuple[datetime, bool]]
    ) -> Mapping[bytes, datetime]:
        fresh = [(f, at) for f, (at, redelivered) in receipts.items() if not redelivered]
        again = [(f, at) for f, (at, redelivered) in receipts.items() if redelivered]
        if fresh:
            # A message that is not a redelivery is new: it takes its own time, replacing any
            # receipt left over from an older message with the same packet id and content.
            await self._conn.execute(
                "INSERT INTO ingest_receipts (fingerprint, received_at)"
                " SELECT * FROM unnest(%b::bytea[], %b::timestamptz[])"
                " ON CONFLICT (fingerprint) DO UPDATE SET received_at = excluded.received_at",
                [[f for f, _ in fresh], [at for _, at in fresh]],
            )
        if again:
            await self._conn.execute(
                "INSERT INTO ingest_receipts (fingerprint, received_at)"
                " SELECT * FROM unnest(%b::bytea[], %b::timestamptz[])"
                " ON CONFLICT (fingerprint) DO NOTHING",
                [[f for f, _ in again], [at for _, at in again]],
            )
        times = dict(fresh)
        if again:
            cursor = await self._conn.execute(
                "SELECT fingerprint, received_at FROM ingest_receipts WHERE fingerprint = ANY(%b)",
                [[f for f, _ in again]],
            )
            times |= {
                bytes(row["fingerprint"]): row["received_at"] for row in await cursor.fetchall()
            }
        return times

    async def forget_receipts(self, fingerprints: Sequence[bytes]) -> None:
        await self._conn.execute(
            "DELETE FROM ingest_receipts WHERE fingerprint = ANY(%b)", [list(fingerprints)]
        )

    async def register_gateways(self, sightings: Sequence[GatewaySighting]) -> Mapping[str, int]:
        ids = await self._existing_gateways(sightings)
        missing = [s for s in sightings if s.key not in ids]
        if missing:
            await self._insert_gateways(missing)
            ids = await self._existing_gateways(sightings)
        seen = sorted(
            (ids[s.key], s.last_active_at) for s in sightings if s.last_active_at is not None
        )
        if seen:
            # Rows are locked in id order, so two workers touching the same gateways never
            # deadlock; last_seen_at only moves forward, whatever order batches commit in.
            await self._conn.execute(
                "UPDATE devices d SET last_seen_at = s.seen_at"
                " FROM (SELECT * FROM unnest(%b::bigint[], %b::timestamptz[])"
                "       AS u(id, seen_at)) s"
                " WHERE d.id = s.id AND d.id IN ("
                "   SELECT id FROM devices WHERE id = ANY(%b) ORDER BY id FOR NO KEY UPDATE)"
                " AND (d.last_seen_at IS NULL OR d.last_seen_at < s.seen_at)",
                [[i for i, _ in seen], [at for _, at in seen], [i for i, _ in seen]],
            )
        return ids

    async def _existing_gateways(self, sightings: Sequence[GatewaySighting]) -> dict[str, int]:
        macs = [s.mac for s in sightings if s.mac]
        codes = [_gateway_code(s) for s in sightings]
        cursor = await self._conn.execute(
            "SELECT id, mac_address, code FROM devices"
            " WHERE mac_address = ANY(%b) OR code = ANY(%b) ORDER BY id",
            [macs, codes],
        )
        by_mac: dict[str, int] = {}
        by_code: dict[str, int] = {}
        for row in await cursor.fetchall():
            if row["mac_address"]:
                by_mac.setdefault(row["mac_address"], row["id"])
            if row["code"]:
                by_code.setdefault(row["code"], row["id"])
        found: dict[str, int] = {}
        for s in sightings:
            device_id = (by_mac.get(s.mac) if s.mac else None) or by_code.get(_gateway_code(s))
            if device_id is not None:
                found[s.key] = device_id
        return found

    async def _insert_gateways(self, sightings: Sequence[GatewaySighting]) -> None:
        placements = await self._placements(sightings)
        rows = []
        for s in sightings:
            building_id, floor_id = placements.get(s.key, (None, None))
            rows.append(
                (
                    f"Gateway {s.mac or s.key}",
                    _gateway_code(s),
                    s.mac,
                    building_id,
                    floor_id,
                    s.tenant,
                )
            )
        async with self._conn.cursor() as cur:
            # Another worker may register the same gateway at the same moment: the unique
            # constraints settle it and the caller reads the winner back.
            await cur.executemany(
                "INSERT INTO devices (name, code, mac_address, type, description, building_id,"
                " floor_id, tenant)"
                " VALUES (%s, %s, %s, 'BLE_GATEWAY', 'Auto-created from MQTT', %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                rows,
            )

    async def _placements(
        self, sightings: Sequence[GatewaySighting]
    ) -> dict[str, tuple[int | None, int | None]]:
        """Building and floor named by a topic: building by code (any case) or slug of its
        name or code; floor by level when the segment is a number, else by slug of its name."""
        placed = [s for s in sightings if s.building]
        if not placed:
            return {}
        buildings = await (
            await self._conn.execute("SELECT id, name, code FROM buildings ORDER BY id")
        ).fetchall()
        floors = await (
            await self._conn.execute("SELECT id, building_id, name, level FROM floors ORDER BY id")
        ).fetchall()
        result: dict[str, tuple[int | None, int | None]] = {}
        for s in placed:
            wanted = str(s.building)
            building = next(
                (b for b in buildings if b["code"].lower() == wanted.lower()), None
            ) or next(
                (b for b in buildings if slug(wanted) in (slug(b["name"]), slug(b["code"]))), None
            )
            if building is None:
                continue
            floor_id = _floor_id(floors, building["id"], s.floor)
            result[s.key] = (building["id"], floor_id)
        return result

    async def tag_ids(self, macs: Iterable[str], *, register: bool) -> Mapping[str, int]:
        wanted = sorted(set(macs))
        if not wanted:
            return {}
        if register:
            await self._conn.execute(
                "INSERT INTO tags (mac_address, notes)"
                " SELECT m, 'Registered from MQTT (RTLS_ACCEPT_UNKNOWN_TAGS)'"
                " FROM unnest(%b::text[]) AS m ON CONFLICT (mac_address) DO NOTHING",
                [wanted],
            )
        # One text parameter split by the server: a text[] parameter would be dumped element
        # by element in Python (MACs are normalized: no commas in them).
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cur:
            await cur.execute(
                "SELECT mac_address, id FROM tags"
                " WHERE mac_address = ANY(string_to_array(%s, ',')::text[])",
                [",".join(wanted)],
            )
            return dict(await cur.fetchall())

    async def add_readings(self, rows: Sequence[ReadingRow]) -> Sequence[ReadingRow]:
        """The usual batch is all new: it is copied straight into ``collection_logs`` (COPY
        writes a partition's rows in bulk, with none of ``ON CONFLICT``'s per-row cost). If
        some reading is already stored, that copy fails on the key and is rolled back to its
        savepoint, and the batch goes through the stage, which skips what is stored."""
        if not rows:
            return []
        days = {utc_day(row.ts) for row in rows}
        await ensure_daily_partitions(self._conn, days)
        for attempt in range(2):
            # A savepoint of the caller's transaction, by hand: on a connection with no
            # transaction yet (adding readings is often a unit of work's first statement)
            # psycopg's transaction() would begin one of its own and commit it at the end of
            # the block, storing the readings whether or not the caller commits.
            await self._conn.execute("SAVEPOINT readings_copy")
            try:
                await self._copy_into(_COPY_READINGS, rows)
            except psycopg.errors.UniqueViolation:
                await self._conn.execute("ROLLBACK TO SAVEPOINT readings_copy")
                break
            except psycopg.errors.CheckViolation:
                # "No partition for the row": another process dropped a day for retention
                # after this one cached it. Late readings of any age are accepted: recreate.
                await self._conn.execute("ROLLBACK TO SAVEPOINT readings_copy")
                if attempt:
                    raise
                forget_daily_partitions(self._conn, days)
                await ensure_daily_partitions(self._conn, days)
                continue
            await self._conn.execute("RELEASE SAVEPOINT readings_copy")
            return rows
        return await self._add_staged(rows, days)

    async def _add_staged(
        self, rows: Sequence[ReadingRow], days: set[date]
    ) -> Sequence[ReadingRow]:
        await self._conn.execute(_STAGE)
        await self._copy_into(_COPY_STAGE, rows)
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cur:
            staged = {"staged": len(rows)}
            try:
                async with self._conn.transaction():
                    await cur.execute(_INSERT_STAGED, staged)
            except psycopg.errors.CheckViolation:
                forget_daily_partitions(self._conn, days)
                await ensure_daily_partitions(self._conn, days)
                await cur.execute(_INSERT_STAGED, staged)
            result = await cur.fetchall()
            inserted: Sequence[ReadingRow] = rows
            if result[0][0] < len(rows):
                inserted = [
                    ReadingRow(
                        device_id=device_id,
                        tag_id=tag_id,
                        rssi=rssi,
                        ts=ts,
                        received_at=received_at,
                        raw_payload=None,
                    )
                    for _, device_id, tag_id, rssi, ts, received_at in result
                    if device_id is not None
                ]
            await cur.execute("TRUNCATE collection_logs_stage")
        return inserted

    async def _copy_into(self, statement: str, rows: Sequence[ReadingRow]) -> None:
        async with self._conn.cursor(binary=True) as cur, cur.copy(statement) as copy:
            copy.set_types(["int8", "int8", "int2", "timestamptz", "timestamptz", "text"])
            for row in rows:
                await copy.write_row(
                    (
                        row.device_id,
                        row.tag_id,
                        row.rssi,
                        row.ts,
                        row.received_at,
                        row.raw_payload,
                    )
                )

    async def record_unknown_tags(self, sightings: Sequence[UnknownTagSighting]) -> None:
        ordered = sorted(sightings, key=lambda s: s.mac)
        await self._conn.execute(
            "INSERT INTO unknown_tags (mac_address, last_device_id, last_rssi, first_seen_at,"
            " last_seen_at, readings_count)"
            " SELECT m, d, r, t, t, n FROM unnest("
            "   %b::text[], %b::bigint[], %b::smallint[], %b::timestamptz[], %b::bigint[])"
            "   AS u(m, d, r, t, n)"
            " ON CONFLICT (mac_address) DO UPDATE SET"
            "   readings_count = unknown_tags.readings_count + excluded.readings_count,"
            "   first_seen_at = least(unknown_tags.first_seen_at, excluded.first_seen_at),"
            "   last_device_id = CASE WHEN excluded.last_seen_at >= unknown_tags.last_seen_at"
            "     THEN excluded.last_device_id ELSE unknown_tags.last_device_id END,"
            "   last_rssi = CASE WHEN excluded.last_seen_at >= unknown_tags.last_seen_at"
            "     THEN excluded.last_rssi ELSE unknown_tags.last_rssi END,"
            "   last_seen_at = greatest(unknown_tags.last_seen_at, excluded.last_seen_at)",
            [
                [s.mac for s in ordered],
                [s.device_id for s in ordered],
                [s.rssi for s in ordered],
                [s.seen_at for s in ordered],
                [s.count for s in ordered],
            ],
        )

    async def apply_transitions(
        self, online: Sequence[int], offline: Sequence[int], at: datetime
    ) -> tuple[list[int], list[int]]:
        went_online = await self._transition(online, True, at)
        went_offline = await self._transition(offline, False, at)
        return went_online, went_offline

    async def _transition(self, device_ids: Sequence[int], online: bool, at: datetime) -> list[int]:
        if not device_ids:
            return []
        # The conditional UPDATE is the arbiter: of several workers seeing the same change,
        # exactly one flips the row and records the event.
        cursor = await self._conn.execute(
            "WITH changed AS ("
            "  UPDATE devices SET reported_online = %s"
            "  WHERE id = ANY(%b) AND reported_online IS DISTINCT FROM %s"
            "  RETURNING id, last_seen_at)"
            " INSERT INTO device_status_events (device_id, online, occurred_at, last_seen_at)"
            " SELECT id, %s, %s, last_seen_at FROM changed RETURNING device_id",
            [online, sorted(set(device_ids)), online, online, at],
        )
        return sorted(row["device_id"] for row in await cursor.fetchall())

    async def mark_silent_offline(self, silent_since: datetime, at: datetime) -> list[int]:
        cursor = await self._conn.execute(
            "SELECT id FROM devices WHERE type = 'BLE_GATEWAY' AND reported_online IS TRUE"
            " AND (last_seen_at IS NULL OR last_seen_at < %s)",
            [silent_since],
        )
        silent = [row["id"] for row in await cursor.fetchall()]
        return await self._transition(silent, False, at)

    async def prune_receipts(self, before: datetime) -> int:
        cursor = await self._conn.execute(
            "DELETE FROM ingest_receipts WHERE received_at < %s", [before]
        )
        return cursor.rowcount

    async def status_events(self, *, after_id: int = 0) -> Sequence[DeviceStatusEvent]:
        cursor = await self._conn.execute(
            "SELECT id, device_id, online, occurred_at, last_seen_at FROM device_status_events"
            " WHERE id > %s ORDER BY id",
            [after_id],
        )
        return [DeviceStatusEvent(**row) for row in await cursor.fetchall()]


def _gateway_code(sighting: GatewaySighting) -> str:
    return gateway_code(sighting.key, sighting.mac)


def _floor_id(floors: list[dict[str, Any]], building_id: int, segment: str | None) -> int | None:
    if not segment:
        return None
    candidates = [f for f in floors if f["building_id"] == building_id]
    if segment.lstrip("-").isdigit():
        level = int(segment)
        match = next((f for f in candidates if f["level"] == level), None)
        if match is not None:
            return int(match["id"])
    wanted = slug(segment)
    return next((int(f["id"]) for f in candidates if slug(f["name"]) == wanted), None)

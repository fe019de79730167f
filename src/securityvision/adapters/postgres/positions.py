"""Positions read from PostgreSQL: one query joins tag positions to people and places."""

from typing import Any

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.application.positions import PositionFilter, PositionView

# One row per person: the position of their most recently heard tag.
_CURRENT = """
SELECT DISTINCT ON (p.id)
    p.id AS person_id, p.full_name AS person_full_name,
    t.id AS tag_id, t.mac_address AS tag_mac_address,
    d.id AS device_id, d.name AS device_name, d.mac_address AS device_mac_address,
    d.pos_x AS device_pos_x, d.pos_y AS device_pos_y,
    fp.id AS floor_plan_id, fp.name AS floor_plan_name, fp.image_url AS floor_plan_image_url,
    f.id AS floor_id, f.name AS floor_name, b.id AS building_id, b.name AS building_name,
    tp.last_seen_at, tp.confidence
FROM tag_positions tp
JOIN tags t ON t.id = tp.tag_id
JOIN people p ON p.id = t.person_id
JOIN devices d ON d.id = tp.device_id
LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
LEFT JOIN floors f ON f.id = fp.floor_id
LEFT JOIN buildings b ON b.id = f.building_id
WHERE (%(since)s::timestamptz IS NULL OR tp.last_seen_at >= %(since)s)
  AND (%(person_id)s::bigint IS NULL OR p.id = %(person_id)s)
  AND (%(device_id)s::bigint IS NULL OR d.id = %(device_id)s)
  AND (%(floor_plan_id)s::bigint IS NULL OR fp.id = %(floor_plan_id)s)
  AND (%(floor_id)s::bigint IS NULL OR f.id = %(floor_id)s)
  AND (%(building_id)s::bigint IS NULL OR b.id = %(building_id)s)
  AND (NOT %(only_active)s OR (p.active AND t.active))
  AND (%(group_id)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM person_group_memberships m
        WHERE m.person_id = p.id AND m.group_id = %(group_id)s))
ORDER BY p.id, tp.last_seen_at DESC
"""


class PostgresPositionQueries:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    async def current(self, where: PositionFilter) -> list[PositionView]:
        params: dict[str, Any] = {
            "since": where.seen_since,
            "person_id": where.person_id,
            "device_id": where.device_id,
            "floor_plan_id": where.floor_plan_id,
            "floor_id": where.floor_id,
            "building_id": where.building_id,
            "group_id": where.group_id,
            "only_active": where.only_active_people,
        }
        async with self._storage.connection(read_only=True) as conn:
            cursor = await conn.execute(_CURRENT, params)
            return [PositionView(**row) for row in await cursor.fetchall()]

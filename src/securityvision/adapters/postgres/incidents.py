"""Support groups, incident rules, incidents and their timeline in PostgreSQL."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.rows import one, translate
from securityvision.domain.errors import Conflict, DomainError, NotFound, StorageError
from securityvision.domain.identity import Role, User
from securityvision.domain.incident_rules import (
    IncidentRule,
    NewIncidentRule,
    NewSupportGroup,
    SupportGroup,
)
from securityvision.domain.incidents import (
    Incident,
    IncidentMessage,
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncident,
    NewIncidentMessage,
    Severity,
)

Connection = psycopg.AsyncConnection[DictRow]

# --- support groups -----------------------------------------------------------------------

_GROUP_FIELDS = tuple(NewSupportGroup.__struct_fields__)
_GROUP_SELECT = (
    f"SELECT {', '.join('g.' + f for f in _GROUP_FIELDS)}, g.id, g.created_at, g.updated_at,"
    " coalesce(array_agg(m.user_id ORDER BY m.user_id)"
    " FILTER (WHERE m.user_id IS NOT NULL), '{}') AS member_ids"
    " FROM support_groups g LEFT JOIN support_group_members m ON m.support_group_id = g.id"
)


def _support_group(row: dict[str, Any]) -> SupportGroup:
    return SupportGroup(**(row | {"member_ids": tuple(row["member_ids"])}))


def _group_errors(name: str) -> dict[str, DomainError]:
    return {
        "support_groups_name_key": Conflict(
            f"a support group named {name!r} already exists", code="support_group_name_taken"
        )
    }


class PostgresSupportGroupRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, group: NewSupportGroup) -> SupportGroup:
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO support_groups ({', '.join(_GROUP_FIELDS)})"
                f" VALUES ({', '.join(['%s'] * len(_GROUP_FIELDS))}) RETURNING id",
                [getattr(group, f) for f in _GROUP_FIELDS],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _group_errors(group.name)) from exc
        return await self._must_get(int((await one(cursor))["id"]))

    async def _must_get(self, group_id: int) -> SupportGroup:
        found = await self.get(group_id)
        if found is None:
            raise StorageError(f"support group {group_id} vanished")
        return found

    async def get(self, group_id: int) -> SupportGroup | None:
        cursor = await self._conn.execute(
            f"{_GROUP_SELECT} WHERE g.id = %s GROUP BY g.id", [group_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _support_group(row)

    async def get_many(self, group_ids: Collection[int]) -> Sequence[SupportGroup]:
        cursor = await self._conn.execute(
            f"{_GROUP_SELECT} WHERE g.id = ANY(%s) GROUP BY g.id ORDER BY g.id",
            [sorted(set(group_ids))],
        )
        return [_support_group(row) for row in await cursor.fetchall()]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[SupportGroup]:
        cursor = await self._conn.execute(
            f"{_GROUP_SELECT} GROUP BY g.id ORDER BY g.id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [_support_group(row) for row in await cursor.fetchall()]

    async def update(self, group: SupportGroup) -> SupportGroup:
        assignments = ", ".join(f"{f} = %s" for f in _GROUP_FIELDS)
        try:
            await self._conn.execute(
                f"UPDATE support_groups SET {assignments}, updated_at = now() WHERE id = %s",
                [*(getattr(group, f) for f in _GROUP_FIELDS), group.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _group_errors(group.name)) from exc
        return await self._must_get(group.id)

    async def set_members(self, group_id: int, user_ids: Collection[int]) -> None:
        await self._conn.execute(
            "DELETE FROM support_group_members WHERE support_group_id = %s", [group_id]
        )
        if user_ids:
            await self._conn.execute(
                "INSERT INTO support_group_members (support_group_id, user_id)"
                " SELECT %s, unnest(%s::bigint[])",
                [group_id, sorted(set(user_ids))],
            )

    async def delete(self, group_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM support_groups WHERE id = %s", [group_id])
        return cursor.rowcount > 0

    async def groups_of_user(self, user_id: int) -> Sequence[int]:
        cursor = await self._conn.execute(
            "SELECT support_group_id FROM support_group_members WHERE user_id = %s ORDER BY 1",
            [user_id],
        )
        return [int(row["support_group_id"]) for row in await cursor.fetchall()]


# --- incident rules -----------------------------------------------------------------------

_RULE_FIELDS = tuple(NewIncidentRule.__struct_fields__)
_RULE_COLUMNS = ", ".join((*_RULE_FIELDS, "id", "created_at", "updated_at"))


def _rule(row: dict[str, Any]) -> IncidentRule:
    return IncidentRule(**(row | {"severity": Severity(row["severity"])}))


def _rule_values(rule: NewIncidentRule) -> list[Any]:
    return [str(rule.severity) if f == "severity" else getattr(rule, f) for f in _RULE_FIELDS]


def _rule_errors(rule: NewIncidentRule) -> dict[str, DomainError]:
    return {
        "incident_rules_device_id_fkey": NotFound(
            f"device {rule.device_id} not found", code="device_not_found"
        ),
        "incident_rules_camera_group_id_fkey": NotFound(
            f"camera group {rule.camera_group_id} not found", code="camera_group_not_found"
        ),
        "incident_rules_assigned_to_user_id_fkey": NotFound(
            f"user {rule.assigned_to_user_id} not found", code="user_not_found"
        ),
        "incident_rules_assigned_group_id_fkey": NotFound(
            f"support group {rule.assigned_group_id} not found", code="support_group_not_found"
        ),
    }


class PostgresIncidentRuleRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, rule: NewIncidentRule) -> IncidentRule:
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO incident_rules ({', '.join(_RULE_FIELDS)})"
                f" VALUES ({', '.join(['%s'] * len(_RULE_FIELDS))}) RETURNING {_RULE_COLUMNS}",
                _rule_values(rule),
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _rule_errors(rule)) from exc
        return _rule(await one(cursor))

    async def get(self, rule_id: int) -> IncidentRule | None:
        cursor = await self._conn.execute(
            f"SELECT {_RULE_COLUMNS} FROM incident_rules WHERE id = %s", [rule_id]
        )
        row = await cursor.fetchone()
        return None if row is None else _rule(row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[IncidentRule]:
        cursor = await self._conn.execute(
            f"SELECT {_RULE_COLUMNS} FROM incident_rules ORDER BY id OFFSET %s LIMIT %s",
            [skip, limit],
        )
        return [_rule(row) for row in await cursor.fetchall()]

    async def for_analytic_type(self, analytic_type: str) -> Sequence[IncidentRule]:
        cursor = await self._conn.execute(
            f"SELECT {_RULE_COLUMNS} FROM incident_rules WHERE enabled AND analytic_type = %s"
            " ORDER BY id",
            [analytic_type],
        )
        return [_rule(row) for row in await cursor.fetchall()]

    async def update(self, rule: IncidentRule) -> IncidentRule:
        assignments = ", ".join(f"{f} = %s" for f in _RULE_FIELDS)
        try:
            cursor = await self._conn.execute(
                f"UPDATE incident_rules SET {assignments}, updated_at = now() WHERE id = %s"
                f" RETURNING {_RULE_COLUMNS}",
                [*_rule_values(rule), rule.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _rule_errors(rule)) from exc
        return _rule(await one(cursor))

    async def delete(self, rule_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM incident_rules WHERE id = %s", [rule_id])
        return cursor.rowcount > 0


# --- incidents ----------------------------------------------------------------------------

_INCIDENT_FIELDS = tuple(NewIncident.__struct_fields__)
_INCIDENT_COLUMNS = ", ".join((*_INCIDENT_FIELDS, "id", "updated_at"))
_OPEN = "status IN ('OPEN', 'IN_PROGRESS')"
_USER_COLUMNS = (
    "u.id, u.email, u.full_name, u.hashed_password, u.role, u.is_active, u.is_superuser,"
    " u.chatwoot_agent_id, u.created_at, u.updated_at"
)


def _incident(row: dict[str, Any]) -> Incident:
    return Incident(
        **(row | {"status": IncidentStatus(row["status"]), "severity": Severity(row["severity"])})
    )


def _incident_values(incident: NewIncident | Incident) -> list[Any]:
    values: list[Any] = []
    for name in _INCIDENT_FIELDS:
        value = getattr(incident, name)
        values.append(str(value) if name in ("status", "severity") else value)
    return values


def _incident_errors(incident: NewIncident | Incident) -> dict[str, DomainError]:
    return {
        "incidents_device_event_id_key": Conflict(
            f"device event {incident.device_event_id} already has an incident",
            code="incident_exists",
        ),
        "incidents_device_id_fkey": NotFound(
            f"device {incident.device_id} not found", code="device_not_found"
        ),
        "incidents_device_event_id_fkey": NotFound(
            f"device event {incident.device_event_id} not found", code="device_event_not_found"
        ),
        "incidents_assigned_group_id_fkey": NotFound(
            f"support group {incident.assigned_group_id} not found",
            code="support_group_not_found",
        ),
        "incidents_assigned_to_user_id_fkey": NotFound(
            f"user {incident.assigned_to_user_id} not found", code="user_not_found"
        ),
        "incidents_created_by_user_id_fkey": NotFound(
            f"user {incident.created_by_user_id} not found", code="user_not_found"
        ),
    }


class PostgresIncidentRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, incident: NewIncident) -> Incident:
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO incidents ({', '.join(_INCIDENT_FIELDS)}, updated_at)"
                f" VALUES ({', '.join(['%s'] * len(_INCIDENT_FIELDS))}, %s)"
                f" RETURNING {_INCIDENT_COLUMNS}",
                [*_incident_values(incident), incident.created_at],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _incident_errors(incident)) from exc
        return _incident(await one(cursor))

    async def _one_where(self, where: str, params: list[Any]) -> Incident | None:
        cursor = await self._conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE {where}", params
        )
        row = await cursor.fetchone()
        return None if row is None else _incident(row)

    async def get(self, incident_id: int) -> Incident | None:
        return await self._one_where("id = %s", [incident_id])

    async def get_for_update(self, incident_id: int) -> Incident | None:
        return await self._one_where("id = %s FOR UPDATE", [incident_id])

    async def for_device_event(self, device_event_id: int) -> Incident | None:
        return await self._one_where("device_event_id = %s", [device_event_id])

    async def list(
        self,
        *,
        only_open: bool = False,
        device_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[Incident]:
        cursor = await self._conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents"
            f" WHERE (NOT %(open)s OR {_OPEN})"
            " AND (%(device)s::bigint IS NULL OR device_id = %(device)s)"
            " ORDER BY id DESC OFFSET %(skip)s LIMIT %(limit)s",
            {"open": only_open, "device": device_id, "skip": skip, "limit": limit},
        )
        return [_incident(row) for row in await cursor.fetchall()]

    async def list_for_user(
        self, user_id: int, *, only_open: bool = False, skip: int = 0, limit: int = 100
    ) -> Sequence[Incident]:
        cursor = await self._conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents i"
            f" WHERE (NOT %(open)s OR {_OPEN}) AND ("
            " i.assigned_to_user_id = %(user)s"
            " OR EXISTS (SELECT 1 FROM incident_assignees a"
            "  WHERE a.incident_id = i.id AND a.user_id = %(user)s)"
            " OR i.assigned_group_id IN (SELECT support_group_id FROM support_group_members"
            "  WHERE user_id = %(user)s)"
            " OR (i.assigned_to_user_id IS NULL AND i.assigned_group_id IS NULL"
            "  AND NOT EXISTS (SELECT 1 FROM incident_assignees a WHERE a.incident_id = i.id)))"
            " ORDER BY i.id DESC OFFSET %(skip)s LIMIT %(limit)s",
            {"open": only_open, "user": user_id, "skip": skip, "limit": limit},
        )
        return [_incident(row) for row in await cursor.fetchall()]

    async def open_for_cooldown(
        self, *, device_id: int, rule_id: int, person_key: str, since: datetime
    ) -> Incident | None:
        return await self._one_where(
            f"{_OPEN} AND device_id = %s AND rule_id = %s AND person_key = %s"
            " AND last_event_at >= %s ORDER BY last_event_at DESC, id DESC LIMIT 1",
            [device_id, rule_id, person_key, since],
        )

    async def update(self, incident: Incident) -> Incident:
        assignments = ", ".join(f"{f} = %s" for f in _INCIDENT_FIELDS)
        try:
            cursor = await self._conn.execute(
                f"UPDATE incidents SET {assignments}, updated_at = %s WHERE id = %s"
                f" RETURNING {_INCIDENT_COLUMNS}",
                [*_incident_values(incident), incident.updated_at, incident.id],
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(exc, _incident_errors(incident)) from exc
        return _incident(await one(cursor))

    async def set_assignees(self, incident_id: int, user_ids: Collection[int]) -> None:
        await self._conn.execute(
            "DELETE FROM incident_assignees WHERE incident_id = %s", [incident_id]
        )
        if user_ids:
            try:
                await self._conn.execute(
                    "INSERT INTO incident_assignees (incident_id, user_id)"
                    " SELECT %s, unnest(%s::bigint[])",
                    [incident_id, sorted(set(user_ids))],
                )
            except psycopg.errors.IntegrityError as exc:
                raise translate(
                    exc,
                    {
                        "incident_assignees_user_id_fkey": NotFound(
                            "an assignee is not a user", code="user_not_found"
                        )
                    },
                ) from exc

    async def assignees(self, incident_ids: Collection[int]) -> Mapping[int, Sequence[User]]:
        if not incident_ids:
            return {}
        cursor = await self._conn.execute(
            f"SELECT a.incident_id, {_USER_COLUMNS} FROM incident_assignees a"
            " JOIN users u ON u.id = a.user_id WHERE a.incident_id = ANY(%s)"
            " ORDER BY a.incident_id, u.id",
            [sorted(set(incident_ids))],
        )
        found: dict[int, list[User]] = defaultdict(list)
        for row in await cursor.fetchall():
            incident_id = row.pop("incident_id")
            found[int(incident_id)].append(User(**(row | {"role": Role(row["role"])})))
        return dict(found)

    async def count_for_group(self, group_id: int) -> int:
        cursor = await self._conn.execute(
            "SELECT count(*) AS n FROM incidents WHERE assigned_group_id = %s", [group_id]
        )
        return int((await one(cursor))["n"])


# --- messages -----------------------------------------------------------------------------

_MESSAGE_FIELDS = tuple(NewIncidentMessage.__struct_fields__)
_MESSAGE_COLUMNS = ", ".join((*_MESSAGE_FIELDS, "id", "created_at"))


def _message(row: dict[str, Any]) -> IncidentMessage:
    media_type = row["media_type"]
    return IncidentMessage(
        **(
            row
            | {
                "message_type": MessageType(row["message_type"]),
                "media_type": None if media_type is None else MediaType(media_type),
            }
        )
    )


class PostgresIncidentMessageRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, message: NewIncidentMessage) -> IncidentMessage:
        values = [getattr(message, f) for f in _MESSAGE_FIELDS]
        values = [str(v) if isinstance(v, MessageType | MediaType) else v for v in values]
        try:
            cursor = await self._conn.execute(
                f"INSERT INTO incident_messages ({', '.join(_MESSAGE_FIELDS)})"
                f" VALUES ({', '.join(['%s'] * len(_MESSAGE_FIELDS))})"
                f" RETURNING {_MESSAGE_COLUMNS}",
                values,
            )
        except psycopg.errors.IntegrityError as exc:
            raise translate(
                exc,
                {
                    "incident_messages_incident_id_fkey": NotFound(
                        f"incident {message.incident_id} not found", code="incident_not_found"
                    )
                },
            ) from exc
        return _message(await one(cursor))

    async def list(
        self, incident_id: int, *, after_id: int | None = None, limit: int = 500
    ) -> Sequence[IncidentMessage]:
        cursor = await self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM incident_messages WHERE incident_id = %s"
            " AND id > %s ORDER BY id LIMIT %s",
            [incident_id, after_id or 0, limit],
        )
        return [_message(row) for row in await cursor.fetchall()]

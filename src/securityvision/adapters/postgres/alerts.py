"""Alert rules, alert events and webhook subscriptions in PostgreSQL.

The engine's reads (``subjects``, ``places``, ``stay_starts``, the open events) take a whole
ingest batch at once: one statement each, whatever the number of readings.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from securityvision.adapters.postgres.rows import one
from securityvision.application.alert_ports import AlertEventFilter, AlertRuleFilter
from securityvision.domain.alerts import (
    PRESENCE_EVENT_TYPES,
    AlertEvent,
    AlertEventType,
    AlertRule,
    NewAlertEvent,
    NewAlertRule,
    Place,
    Subject,
)
from securityvision.domain.errors import StorageError
from securityvision.domain.webhooks import (
    NewWebhookSubscription,
    WebhookEventType,
    WebhookSubscription,
)

Connection = psycopg.AsyncConnection[DictRow]

_PRESENCE_TYPES = [str(t) for t in PRESENCE_EVENT_TYPES]

# --- rules --------------------------------------------------------------------------------

_RULE_FIELDS = tuple(NewAlertRule.__struct_fields__)
_RULE_SELECT = f"SELECT id, created_at, updated_at, {', '.join(_RULE_FIELDS)} FROM alert_rules"


def _rule(row: dict[str, Any]) -> AlertRule:
    return msgspec.convert(row, AlertRule)


class PostgresAlertRuleRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, rule: NewAlertRule) -> AlertRule:
        cursor = await self._conn.execute(
            f"INSERT INTO alert_rules ({', '.join(_RULE_FIELDS)})"
            f" VALUES ({', '.join(['%s'] * len(_RULE_FIELDS))})"
            f" RETURNING id, created_at, updated_at, {', '.join(_RULE_FIELDS)}",
            [getattr(rule, f) for f in _RULE_FIELDS],
        )
        return _rule(await one(cursor))

    async def get(self, rule_id: int) -> AlertRule | None:
        cursor = await self._conn.execute(f"{_RULE_SELECT} WHERE id = %s", [rule_id])
        row = await cursor.fetchone()
        return None if row is None else _rule(row)

    async def get_many(self, rule_ids: Collection[int]) -> Sequence[AlertRule]:
        if not rule_ids:
            return []
        cursor = await self._conn.execute(
            f"{_RULE_SELECT} WHERE id = ANY(%s) ORDER BY id", [sorted(set(rule_ids))]
        )
        return [_rule(row) for row in await cursor.fetchall()]

    async def list(
        self, where: AlertRuleFilter, *, skip: int = 0, limit: int = 100
    ) -> Sequence[AlertRule]:
        conditions, params = _conditions(msgspec.structs.asdict(where))
        cursor = await self._conn.execute(
            f"{_RULE_SELECT}{conditions} ORDER BY id OFFSET %s LIMIT %s", [*params, skip, limit]
        )
        return [_rule(row) for row in await cursor.fetchall()]

    async def active(self) -> Sequence[AlertRule]:
        cursor = await self._conn.execute(f"{_RULE_SELECT} WHERE is_active ORDER BY id")
        return [_rule(row) for row in await cursor.fetchall()]

    async def update(self, rule: AlertRule) -> AlertRule:
        cursor = await self._conn.execute(
            f"UPDATE alert_rules SET {', '.join(f + ' = %s' for f in _RULE_FIELDS)},"
            f" updated_at = now() WHERE id = %s"
            f" RETURNING id, created_at, updated_at, {', '.join(_RULE_FIELDS)}",
            [*(getattr(rule, f) for f in _RULE_FIELDS), rule.id],
        )
        return _rule(await one(cursor))

    async def delete(self, rule_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM alert_rules WHERE id = %s", [rule_id])
        return cursor.rowcount > 0


def _conditions(values: Mapping[str, object]) -> tuple[str, list[object]]:
    """``WHERE a = %s AND …`` for the filters that are set."""
    present = {name: value for name, value in values.items() if value is not None}
    if not present:
        return "", []
    clause = " AND ".join(f"{name} = %s" for name in present)
    return f" WHERE {clause}", [str(v) if isinstance(v, str) else v for v in present.values()]


# --- events -------------------------------------------------------------------------------

_EVENT_FIELDS = tuple(NewAlertEvent.__struct_fields__)
_EVENT_COLUMNS = f"id, incident_id, created_at, updated_at, {', '.join(_EVENT_FIELDS)}"
_EVENT_SELECT = f"SELECT {_EVENT_COLUMNS} FROM alert_events"


def _event(row: dict[str, Any]) -> AlertEvent:
    return msgspec.convert(row, AlertEvent)


def _value(event: NewAlertEvent, field: str) -> object:
    value = getattr(event, field)
    return Jsonb(value) if field == "payload" else value


class PostgresAlertEventRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add_many(self, events: Sequence[NewAlertEvent]) -> Sequence[AlertEvent]:
        added: list[AlertEvent] = []
        async with self._conn.cursor() as cur:
            for event in events:
                await cur.execute(
                    f"INSERT INTO alert_events ({', '.join(_EVENT_FIELDS)})"
                    f" VALUES ({', '.join(['%s'] * len(_EVENT_FIELDS))})"
                    f" RETURNING {_EVENT_COLUMNS}",
                    [_value(event, f) for f in _EVENT_FIELDS],
                )
                added.append(_event(await one(cur)))
        return added

    async def update_many(self, events: Sequence[AlertEvent]) -> None:
        if not events:
            return
        await self._conn.execute(
            "UPDATE alert_events e SET last_seen_at = u.last_seen_at, ended_at = u.ended_at,"
            " is_open = u.is_open, message = u.message, payload = u.payload,"
            " updated_at = now()"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::boolean[],"
            "   %s::text[], %s::jsonb[]) AS u(id, last_seen_at, ended_at, is_open, message,"
            "   payload)"
            " WHERE e.id = u.id",
            [
                [e.id for e in events],
                [e.last_seen_at for e in events],
                [e.ended_at for e in events],
                [e.is_open for e in events],
                [e.message for e in events],
                [Jsonb(e.payload) for e in events],
            ],
        )

    async def set_incident(self, event_id: int, incident_id: int) -> None:
        await self._conn.execute(
            "UPDATE alert_events SET incident_id = %s, updated_at = now() WHERE id = %s",
            [incident_id, event_id],
        )

    async def get(self, event_id: int) -> AlertEvent | None:
        cursor = await self._conn.execute(f"{_EVENT_SELECT} WHERE id = %s", [event_id])
        row = await cursor.fetchone()
        return None if row is None else _event(row)

    async def list(
        self, where: AlertEventFilter, *, skip: int = 0, limit: int = 50
    ) -> Sequence[AlertEvent]:
        conditions, params = _conditions(msgspec.structs.asdict(where))
        cursor = await self._conn.execute(
            f"{_EVENT_SELECT}{conditions} ORDER BY started_at DESC, id DESC OFFSET %s LIMIT %s",
            [*params, skip, limit],
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def open_presence(self, tag_ids: Collection[int]) -> Sequence[AlertEvent]:
        if not tag_ids:
            return []
        cursor = await self._conn.execute(
            f"{_EVENT_SELECT} WHERE is_open AND tag_id = ANY(%s) AND event_type = ANY(%s)"
            " ORDER BY id FOR UPDATE",
            [sorted(set(tag_ids)), _PRESENCE_TYPES],
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def open_for_rule(self, rule_id: int) -> Sequence[AlertEvent]:
        cursor = await self._conn.execute(
            f"{_EVENT_SELECT} WHERE is_open AND rule_id = %s ORDER BY id FOR UPDATE", [rule_id]
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def stale_presence(self, seen_before: datetime, *, limit: int) -> Sequence[AlertEvent]:
        cursor = await self._conn.execute(
            f"{_EVENT_SELECT} WHERE is_open AND last_seen_at < %s AND event_type = ANY(%s)"
            " ORDER BY last_seen_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
            [seen_before, _PRESENCE_TYPES, limit],
        )
        return [_event(row) for row in await cursor.fetchall()]

    async def open_offline(self, device_ids: Collection[int]) -> Mapping[int, AlertEvent]:
        if not device_ids:
            return {}
        cursor = await self._conn.execute(
            f"{_EVENT_SELECT} WHERE is_open AND event_type = %s AND device_id = ANY(%s)"
            " ORDER BY id FOR UPDATE",
            [str(AlertEventType.GATEWAY_OFFLINE), sorted(set(device_ids))],
        )
        return {int(row["device_id"]): _event(row) for row in await cursor.fetchall()}

    async def subjects(self, tag_ids: Collection[int]) -> Mapping[int, Subject]:
        if not tag_ids:
            return {}
        cursor = await self._conn.execute(
            "SELECT t.id AS tag_id, t.mac_address AS tag_mac, p.id AS person_id,"
            " p.full_name AS person_name,"
            " coalesce(array_agg(m.group_id) FILTER (WHERE m.group_id IS NOT NULL), '{}')"
            "   AS group_ids"
            " FROM tags t"
            " LEFT JOIN people p ON p.id = t.person_id"
            " LEFT JOIN person_group_memberships m ON m.person_id = p.id"
            " WHERE t.id = ANY(%s) AND t.active AND (p.id IS NULL OR p.active)"
            " GROUP BY t.id, p.id",
            [sorted(set(tag_ids))],
        )
        return {
            int(row["tag_id"]): msgspec.convert(row, Subject) for row in await cursor.fetchall()
        }

    async def places(self, device_ids: Collection[int]) -> Mapping[int, Place]:
        if not device_ids:
            return {}
        cursor = await self._conn.execute(
            "SELECT d.id AS device_id, d.name AS device_name, d.floor_plan_id,"
            " coalesce(fp.floor_id, d.floor_id) AS floor_id,"
            " coalesce(f.building_id, d.building_id) AS building_id, d.last_seen_at"
            " FROM devices d"
            " LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id"
            " LEFT JOIN floors f ON f.id = coalesce(fp.floor_id, d.floor_id)"
            " WHERE d.id = ANY(%s)",
            [sorted(set(device_ids))],
        )
        return {
            int(row["device_id"]): msgspec.convert(row, Place) for row in await cursor.fetchall()
        }

    async def stay_starts(
        self, pairs: Collection[tuple[int, int]]
    ) -> Mapping[tuple[int, int], datetime]:
        if not pairs:
            return {}
        ordered = sorted(set(pairs))
        cursor = await self._conn.execute(
            "SELECT DISTINCT ON (s.tag_id, s.device_id) s.tag_id, s.device_id, s.started_at"
            " FROM presence_sessions s"
            " JOIN unnest(%s::bigint[], %s::bigint[]) AS w(tag_id, device_id)"
            "   ON w.tag_id = s.tag_id AND w.device_id = s.device_id"
            " ORDER BY s.tag_id, s.device_id, s.started_at DESC",
            [[t for t, _ in ordered], [d for _, d in ordered]],
        )
        return {
            (int(row["tag_id"]), int(row["device_id"])): row["started_at"]
            for row in await cursor.fetchall()
        }

    async def count(self, *, since: datetime | None = None) -> int:
        cursor = await self._conn.execute(
            "SELECT count(*) AS n FROM alert_events WHERE %s::timestamptz IS NULL"
            " OR started_at >= %s",
            [since, since],
        )
        return int((await one(cursor))["n"])


# --- webhook subscriptions ---------------------------------------------------------------

_SUB_FIELDS = tuple(NewWebhookSubscription.__struct_fields__)
_SUB_COLUMNS = (
    f"id, created_at, updated_at, secret_encrypted IS NOT NULL AS has_secret,"
    f" {', '.join(_SUB_FIELDS)}"
)
_SUB_SELECT = f"SELECT {_SUB_COLUMNS} FROM webhook_subscriptions"


def _subscription(row: dict[str, Any]) -> WebhookSubscription:
    return msgspec.convert(row, WebhookSubscription)


def _sub_value(subscription: NewWebhookSubscription | WebhookSubscription, field: str) -> object:
    value = getattr(subscription, field)
    return str(value) if isinstance(value, WebhookEventType) else value


class PostgresWebhookSubscriptionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(
        self, subscription: NewWebhookSubscription, secret: bytes | None
    ) -> WebhookSubscription:
        cursor = await self._conn.execute(
            f"INSERT INTO webhook_subscriptions ({', '.join(_SUB_FIELDS)}, secret_encrypted)"
            f" VALUES ({', '.join(['%s'] * (len(_SUB_FIELDS) + 1))}) RETURNING {_SUB_COLUMNS}",
            [*(_sub_value(subscription, f) for f in _SUB_FIELDS), secret],
        )
        return _subscription(await one(cursor))

    async def get(self, subscription_id: int) -> WebhookSubscription | None:
        cursor = await self._conn.execute(f"{_SUB_SELECT} WHERE id = %s", [subscription_id])
        row = await cursor.fetchone()
        return None if row is None else _subscription(row)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[WebhookSubscription]:
        cursor = await self._conn.execute(
            f"{_SUB_SELECT} ORDER BY id OFFSET %s LIMIT %s", [skip, limit]
        )
        return [_subscription(row) for row in await cursor.fetchall()]

    async def wanting(
        self, event_types: Collection[WebhookEventType]
    ) -> Sequence[WebhookSubscription]:
        if not event_types:
            return []
        cursor = await self._conn.execute(
            f"{_SUB_SELECT} WHERE is_active"
            " AND (event_type_filter IS NULL OR event_type_filter = ANY(%s)) ORDER BY id",
            [sorted(str(t) for t in set(event_types))],
        )
        return [_subscription(row) for row in await cursor.fetchall()]

    async def update(self, subscription: WebhookSubscription) -> WebhookSubscription:
        cursor = await self._conn.execute(
            f"UPDATE webhook_subscriptions SET {', '.join(f + ' = %s' for f in _SUB_FIELDS)},"
            f" updated_at = now() WHERE id = %s RETURNING {_SUB_COLUMNS}",
            [*(_sub_value(subscription, f) for f in _SUB_FIELDS), subscription.id],
        )
        row = await cursor.fetchone()
        if row is None:
            raise StorageError(f"webhook subscription {subscription.id} vanished")
        return _subscription(row)

    async def set_secret(self, subscription_id: int, secret: bytes | None) -> None:
        await self._conn.execute(
            "UPDATE webhook_subscriptions SET secret_encrypted = %s, updated_at = now()"
            " WHERE id = %s",
            [secret, subscription_id],
        )

    async def secret(self, subscription_id: int) -> bytes | None:
        cursor = await self._conn.execute(
            "SELECT secret_encrypted FROM webhook_subscriptions WHERE id = %s", [subscription_id]
        )
        row = await cursor.fetchone()
        return (
            None
            if row is None or row["secret_encrypted"] is None
            else bytes(row["secret_encrypted"])
        )

    async def delete(self, subscription_id: int) -> bool:
        cursor = await self._conn.execute(
            "DELETE FROM webhook_subscriptions WHERE id = %s", [subscription_id]
        )
        return cursor.rowcount > 0

"""The Chatwoot integration's records in PostgreSQL (migration 0010)."""

from datetime import datetime, timedelta

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.users import _COLUMNS as _USER_COLUMNS
from securityvision.adapters.postgres.users import _user
from securityvision.domain.identity import User

# Deliveries older than this are forgotten: a signed delivery is refused after 5 minutes.
DELIVERY_RETENTION = timedelta(days=7)


class PostgresChatwootStore:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def conversation_of(self, incident_id: int) -> int | None:
        cursor = await self._conn.execute(
            "SELECT chatwoot_conversation_id FROM incidents WHERE id = %s", [incident_id]
        )
        row = await cursor.fetchone()
        return None if row is None else row["chatwoot_conversation_id"]

    async def link_conversation(self, incident_id: int, conversation_id: int) -> None:
        await self._conn.execute(
            "UPDATE incidents SET chatwoot_conversation_id = %s WHERE id = %s",
            [conversation_id, incident_id],
        )

    async def incident_for_conversation(self, conversation_id: int) -> int | None:
        cursor = await self._conn.execute(
            "SELECT min(id) AS id FROM incidents WHERE chatwoot_conversation_id = %s",
            [conversation_id],
        )
        row = await cursor.fetchone()
        return None if row is None else row["id"]

    async def agent(self, chatwoot_agent_id: int) -> User | None:
        cursor = await self._conn.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE chatwoot_agent_id = %s ORDER BY id LIMIT 1",
            [chatwoot_agent_id],
        )
        row = await cursor.fetchone()
        return None if row is None else _user(row)

    async def delivery_seen(self, delivery_id: str) -> bool:
        cursor = await self._conn.execute(
            "SELECT 1 FROM chatwoot_webhook_deliveries WHERE delivery_id = %s", [delivery_id]
        )
        return await cursor.fetchone() is not None

    async def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        await self._conn.execute(
            "DELETE FROM chatwoot_webhook_deliveries WHERE received_at < %s",
            [at - DELIVERY_RETENTION],
        )
        cursor = await self._conn.execute(
            "INSERT INTO chatwoot_webhook_deliveries (delivery_id, received_at) VALUES (%s, %s)"
            " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id",
            [delivery_id, at],
        )
        return await cursor.fetchone() is not None

    async def claim_message(self, chatwoot_message_id: int, incident_id: int) -> bool:
        cursor = await self._conn.execute(
            "INSERT INTO chatwoot_inbound_messages (chatwoot_message_id, incident_id)"
            " VALUES (%s, %s) ON CONFLICT (chatwoot_message_id) DO NOTHING"
            " RETURNING chatwoot_message_id",
            [chatwoot_message_id, incident_id],
        )
        return await cursor.fetchone() is not None

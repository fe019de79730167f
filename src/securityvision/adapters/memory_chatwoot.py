"""The Chatwoot integration's records in process memory, for the in-memory storage
(memory.py); the contract suite holds it to the PostgreSQL one."""

from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from securityvision.adapters.memory_incidents import IncidentTables
from securityvision.domain.identity import User

DELIVERY_RETENTION = timedelta(days=7)


class ChatwootTables(msgspec.Struct, kw_only=True):
    # chatwoot_webhook_deliveries and chatwoot_inbound_messages (message id -> incident id).
    deliveries: dict[str, datetime] = msgspec.field(default_factory=dict)
    messages: dict[int, int] = msgspec.field(default_factory=dict)

    def clone(self) -> "ChatwootTables":
        return ChatwootTables(deliveries=dict(self.deliveries), messages=dict(self.messages))


class ChatwootHost(Protocol):
    """The parts of the in-memory state this store touches (``memory._State``)."""

    @property
    def chatwoot(self) -> ChatwootTables: ...

    @property
    def incident_tables(self) -> IncidentTables: ...

    @property
    def users(self) -> dict[int, User]: ...


class InMemoryChatwootStore:
    def __init__(self, host: ChatwootHost) -> None:
        self._host = host

    async def conversation_of(self, incident_id: int) -> int | None:
        incident = self._host.incident_tables.incidents.get(incident_id)
        return None if incident is None else incident.chatwoot_conversation_id

    async def link_conversation(self, incident_id: int, conversation_id: int) -> None:
        incidents = self._host.incident_tables.incidents
        incident = incidents.get(incident_id)
        if incident is not None:
            incidents[incident_id] = msgspec.structs.replace(
                incident, chatwoot_conversation_id=conversation_id
            )

    async def incident_for_conversation(self, conversation_id: int) -> int | None:
        found = [
            i.id
            for i in self._host.incident_tables.incidents.values()
            if i.chatwoot_conversation_id == conversation_id
        ]
        return min(found, default=None)

    async def agent(self, chatwoot_agent_id: int) -> User | None:
        found = sorted(
            (u for u in self._host.users.values() if u.chatwoot_agent_id == chatwoot_agent_id),
            key=lambda u: u.id,
        )
        return found[0] if found else None

    async def delivery_seen(self, delivery_id: str) -> bool:
        return delivery_id in self._host.chatwoot.deliveries

    async def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        tables = self._host.chatwoot
        tables.deliveries = {
            d: t for d, t in tables.deliveries.items() if t >= at - DELIVERY_RETENTION
        }
        if delivery_id in tables.deliveries:
            return False
        tables.deliveries[delivery_id] = at
        return True

    async def claim_message(self, chatwoot_message_id: int, incident_id: int) -> bool:
        messages = self._host.chatwoot.messages
        if chatwoot_message_id in messages:
            return False
        if incident_id not in self._host.incident_tables.incidents:
            return False
        messages[chatwoot_message_id] = incident_id
        return True

"""The ports of the Chatwoot integration (docs/chatwoot.md): what it keeps in the system of
record, beside ``ports.py`` (whose ``UnitOfWork`` exposes it as ``uow.chatwoot``)."""

from datetime import datetime
from typing import Protocol

from securityvision.domain.identity import User


class ChatwootStore(Protocol):
    """Links between incidents and Chatwoot, and what the webhook already handled."""

    async def conversation_of(self, incident_id: int) -> int | None:
        """The incident's Chatwoot conversation, if it has one (None for no such incident)."""
        ...

    async def link_conversation(self, incident_id: int, conversation_id: int) -> None:
        """Remember the incident's conversation (an incident that no longer exists is
        ignored). Touches nothing else of the incident: its ``updated_at`` stays."""
        ...

    async def incident_for_conversation(self, conversation_id: int) -> int | None:
        """The incident linked to that conversation (the lowest id if several are)."""
        ...

    async def agent(self, chatwoot_agent_id: int) -> User | None:
        """The user whose ``chatwoot_agent_id`` it is (the lowest id if several)."""
        ...

    async def delivery_seen(self, delivery_id: str) -> bool:
        """Whether that webhook delivery was already handled (committed)."""
        ...

    async def claim_delivery(self, delivery_id: str, at: datetime) -> bool:
        """Record a webhook delivery as handled by this unit of work; False when it already
        was (a replay: nothing is to change). Two transactions claiming the same id: the
        second waits for the first and, if it commits, gets False."""
        ...

    async def claim_message(self, chatwoot_message_id: int, incident_id: int) -> bool:
        """Record a Chatwoot message as mirrored on ``incident_id``; False when it already
        was (on any incident)."""
        ...

"""The Chatwoot links and webhook bookkeeping behave the same on every adapter."""

from datetime import UTC, datetime, timedelta

from securityvision.application.ports import Storage
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.identity import NewUser
from securityvision.domain.incidents import NewIncident

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def an_incident(storage: Storage) -> int:
    async with storage.unit_of_work() as uow:
        device = await uow.devices.add(NewDevice(name="c", code="c", type=DeviceType.CAMERA))
        incident = await uow.incidents.add(
            NewIncident(device_id=device.id, title="t", kind="CAMERA_EVENT", created_at=T0)
        )
        await uow.commit()
    return incident.id


async def test_an_incident_is_linked_to_its_conversation_without_touching_it(
    storage: Storage,
) -> None:
    incident_id = await an_incident(storage)
    async with storage.unit_of_work() as uow:
        assert await uow.chatwoot.conversation_of(incident_id) is None
        assert await uow.chatwoot.conversation_of(incident_id + 100) is None
        before = await uow.incidents.get(incident_id)
        await uow.chatwoot.link_conversation(incident_id, 912)
        await uow.chatwoot.link_conversation(incident_id + 100, 913)  # no such incident
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.chatwoot.conversation_of(incident_id) == 912
        assert await uow.chatwoot.incident_for_conversation(912) == incident_id
        assert await uow.chatwoot.incident_for_conversation(913) is None
        after = await uow.incidents.get(incident_id)
        assert before is not None
        assert after is not None
        assert after.chatwoot_conversation_id == 912
        assert after.updated_at == before.updated_at


async def test_a_link_made_in_a_rolled_back_unit_of_work_is_gone(storage: Storage) -> None:
    incident_id = await an_incident(storage)
    async with storage.unit_of_work() as uow:
        await uow.chatwoot.link_conversation(incident_id, 912)
    async with storage.unit_of_work() as uow:
        assert await uow.chatwoot.conversation_of(incident_id) is None


async def test_agents_are_found_by_their_chatwoot_id(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.users.add(NewUser(email="a@example.com", full_name="A", hashed_password="x"))
        agent = await uow.users.add(
            NewUser(email="b@example.com", full_name="B", hashed_password="x", chatwoot_agent_id=7)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.chatwoot.agent(7)
        assert found is not None
        assert found.id == agent.id
        assert await uow.chatwoot.agent(8) is None


async def test_a_delivery_and_a_message_are_claimed_once_and_only_when_committed(
    storage: Storage,
) -> None:
    incident_id = await an_incident(storage)
    async with storage.unit_of_work() as uow:
        assert await uow.chatwoot.claim_delivery("d-1", T0)
        assert await uow.chatwoot.claim_message(4821, incident_id)
        # Rolled back: as if never handled.
    async with storage.unit_of_work() as uow:
        assert not await uow.chatwoot.delivery_seen("d-1")
        assert await uow.chatwoot.claim_delivery("d-1", T0)
        assert not await uow.chatwoot.claim_delivery("d-1", T0)
        assert await uow.chatwoot.claim_message(4821, incident_id)
        assert not await uow.chatwoot.claim_message(4821, incident_id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.chatwoot.delivery_seen("d-1")
        assert not await uow.chatwoot.claim_delivery("d-1", T0 + timedelta(minutes=1))
        assert not await uow.chatwoot.claim_message(4821, incident_id)
        # A week later the delivery is forgotten (a signed one is refused after 5 minutes).
        assert await uow.chatwoot.claim_delivery("d-2", T0 + timedelta(days=8))
        assert not await uow.chatwoot.delivery_seen("d-1")

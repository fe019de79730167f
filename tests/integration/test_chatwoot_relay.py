"""Incidents mirrored to a (fake, real-HTTP) Chatwoot through the outbox and its relay, over
PostgreSQL: the original's call sequence, media uploads, status changes, and — with Chatwoot
down for a while, failing, rate-limiting and answering too late — every incident and message
arriving exactly once, in order per conversation."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from securityvision.adapters.chatwoot import ChatwootPublisher
from securityvision.adapters.media import InMemoryMediaStore
from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.chatwoot import (
    CHATWOOT_CHANNEL,
    Conversation,
    PostMessage,
    encode_delivery,
)
from securityvision.domain.outbox import DeliveryFailed, DeliveryRejected, OutboxMessage
from securityvision.entrypoints.http import create_app
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support import images
from tests.support.databases import temporary_database
from tests.support.fake_chatwoot import (
    ACCOUNT_ID,
    INBOX_ID,
    INBOX_IDENTIFIER,
    TOKEN,
    FakeChatwoot,
)

pytestmark = pytest.mark.postgres

Headers = dict[str, str]
INCIDENT_BASE_URL = "https://sv.example.com/incidents"


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    """A migrated database of this test's own (the relay locks per database)."""
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


def environment(url: str, chatwoot: FakeChatwoot, media: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SVPOS_SECRET_KEY": TEST_SECRET,
        "SUPERADMIN_EMAIL": ROOT_EMAIL,
        "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
        "RTLS_MQTT_ENABLED": "false",
        "MEDIA_ROOT": str(media),
        "CHATWOOT_ENABLED": "true",
        "CHATWOOT_BASE_URL": chatwoot.url,
        "CHATWOOT_API_ACCESS_TOKEN": TOKEN,
        "CHATWOOT_DEFAULT_ACCOUNT_ID": str(ACCOUNT_ID),
        "CHATWOOT_DEFAULT_INBOX_IDENTIFIER": INBOX_IDENTIFIER,
        "CHATWOOT_INCIDENT_BASE_URL": INCIDENT_BASE_URL,
    }


def quick_publisher(container: Container) -> ChatwootPublisher:
    """The container's publisher with test-sized timeouts (Chatwoot answering in 0.5 s or
    not at all, probed again every 0.2 to 0.5 s)."""
    settings = container.settings()
    return ChatwootPublisher(
        base_url=settings.chatwoot_base_url,
        api_access_token=TOKEN,
        account_id=ACCOUNT_ID,
        default_inbox=INBOX_IDENTIFIER,
        contact_identifier=settings.chatwoot_default_contact_identifier,
        uow=container.storage().unit_of_work,
        media=container.media_store(),
        timeout_seconds=0.5,
        probe_backoff=0.2,
        max_probe_backoff=0.5,
    )


@asynccontextmanager
async def api(env: dict[str, str]) -> AsyncIterator[tuple[AsyncTestClient, Headers]]:
    container = build_container(load_settings(env, env_file=None))
    container.chatwoot_publisher.override(providers.Object(quick_publisher(container)))
    async with AsyncTestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client, await login(client, ROOT_EMAIL, ROOT_PASSWORD)


async def eventually(check: Callable[[], Any], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                await result
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


async def camera(client: AsyncTestClient, root: Headers) -> int:
    created = await client.post(
        "/api/v1/devices/cameras/", json={"name": "Portaria", "code": "fixa01"}, headers=root
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def incident(client: AsyncTestClient, root: Headers, device_id: int, title: str) -> int:
    created = await client.post(
        "/api/v1/incidents/",
        json={"device_id": device_id, "title": title, "severity": "HIGH", "tenant": "acme"},
        headers=root,
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def comment(client: AsyncTestClient, root: Headers, incident_id: int, text: str) -> int:
    posted = await client.post(
        f"/api/v1/incidents/{incident_id}/messages", json={"content": text}, headers=root
    )
    assert posted.status_code in (200, 201), posted.text
    return int(posted.json()["id"])


async def test_an_incident_and_its_timeline_become_one_conversation(
    migrated: str, fake_chatwoot: FakeChatwoot, tmp_path: Path
) -> None:
    photo = images.png()
    async with api(environment(migrated, fake_chatwoot, tmp_path / "media")) as (client, root):
        device = await camera(client, root)
        incident_id = await incident(client, root, device, "Face reconhecida")
        comment_id = await comment(client, root, incident_id, "Verificando as câmeras")
        attached = await client.post(
            f"/api/v1/incidents/{incident_id}/attachments",
            files={"file": ("local.png", photo, "image/png")},
            data={"description": "Foto do local"},
            headers=root,
        )
        assert attached.status_code in (200, 201), attached.text
        patched = await client.patch(
            f"/api/v1/incidents/{incident_id}", json={"status": "RESOLVED"}, headers=root
        )
        assert patched.status_code == 200, patched.text

        def arrived() -> None:
            conversation = fake_chatwoot.conversation_for(incident_id)
            assert conversation is not None
            assert len(conversation.messages) == 4
            assert conversation.custom_attributes["status"] == "RESOLVED"

        await eventually(arrived)
        conversation = fake_chatwoot.conversation_for(incident_id)
        assert conversation is not None
        stored = (await client.get(f"/api/v1/incidents/{incident_id}", headers=root)).json()
        assert stored["chatwoot_conversation_id"] == conversation.id

        health = (await client.get("/health")).json()["chatwoot"]
        assert health["status"] == "up"
        assert health["relay"] == {"state": "active", "broker": "connected"}

    assert conversation.inbox_id == INBOX_ID
    assert conversation.source_id == f"incident-{incident_id}"
    assert conversation.custom_attributes["incident_id"] == incident_id
    assert conversation.custom_attributes["severity"] == "HIGH"
    assert conversation.custom_attributes["tenant"] == "acme"
    assert [c["identifier"] for c in fake_chatwoot.contacts.values()] == ["security-vision-system"]
    summary, note, media, status = conversation.messages
    assert summary.source_id == f"sv-incident-{incident_id}"
    assert summary.content.splitlines()[0] == f"[Incidente #{incident_id}] Face reconhecida"
    assert f"Acesse: {INCIDENT_BASE_URL}/{incident_id}" in summary.content
    assert note.source_id == f"sv-msg-{comment_id}"
    assert note.content.endswith(":\nVerificando as câmeras")
    assert media.attachments[0]["data"] == photo
    assert media.attachments[0]["content_type"] == "image/png"
    assert media.content.endswith(":\nFoto do local")
    assert status.content.endswith(":\nStatus alterado de OPEN para RESOLVED.")
    for message in conversation.messages:
        assert message.private
        assert message.content_attributes == {"sv_source": "securityvision"}
    # Every call carried the token, in its header only.
    assert all(r.headers.get("api_access_token") == TOKEN for r in fake_chatwoot.requests)
    assert all(TOKEN not in r.path for r in fake_chatwoot.requests)


async def test_with_chatwoot_down_then_back_everything_arrives_once_in_order(
    migrated: str, fake_chatwoot: FakeChatwoot, tmp_path: Path
) -> None:
    fake_chatwoot.stop()
    expected: dict[int, list[str]] = {}
    async with api(environment(migrated, fake_chatwoot, tmp_path / "media")) as (client, root):
        device = await camera(client, root)
        for n in range(3):
            incident_id = await incident(client, root, device, f"Intrusão {n}")
            expected[incident_id] = [f"sv-incident-{incident_id}"]
            for k in range(3):
                message_id = await comment(client, root, incident_id, f"nota {n}.{k}")
                expected[incident_id].append(f"sv-msg-{message_id}")

        async def down() -> None:
            health = (await client.get("/health")).json()["chatwoot"]
            assert health["status"] == "down", health
            assert health["backlog"] == 12
            assert "unreachable" in health["last_error"]

        await eventually(down, 30)

        # Back, but not well at first: a 500, a 429 asking for a second, and a message
        # taken but answered after the client gave up (it must not be posted again).
        fake_chatwoot.fail(500)
        fake_chatwoot.fail(429, retry_after="1")
        fake_chatwoot.slow(1.0, only="POST /messages")
        fake_chatwoot.start()

        def complete() -> None:
            for incident_id, source_ids in expected.items():
                conversation = fake_chatwoot.conversation_for(incident_id)
                assert conversation is not None
                assert [m.source_id for m in conversation.messages] == source_ids

        await eventually(complete, 90)
        await asyncio.sleep(2)  # nothing more comes
        complete()

        async def drained() -> None:
            health = (await client.get("/health")).json()["chatwoot"]
            assert health["backlog"] == 0, health
            assert health["dead_letters"] == 0
            assert health["status"] == "up"

        await eventually(drained, 20)

    assert len(fake_chatwoot.conversations) == 3
    assert len(fake_chatwoot.contacts) == 1
    assert any(r.path.endswith("/messages") for r in fake_chatwoot.calls("GET", "/messages"))


# --- the publisher on its own (in-memory storage) ------------------------------------------


def publisher(
    fake: FakeChatwoot, storage: InMemoryStorage, token: str = TOKEN
) -> ChatwootPublisher:
    return ChatwootPublisher(
        base_url=fake.url,
        api_access_token=token,
        account_id=ACCOUNT_ID,
        default_inbox=INBOX_IDENTIFIER,
        contact_identifier="security-vision-system",
        uow=storage.unit_of_work,
        media=InMemoryMediaStore(),
        timeout_seconds=0.5,
        probe_backoff=0.1,
    )


def outbox_message(incident_id: int, message_id: int, inbox: str | None = None) -> OutboxMessage:
    delivery = PostMessage(
        conversation=Conversation(
            incident_id=incident_id,
            inbox=inbox,
            team_id=5 if inbox else None,
            custom_attributes={"incident_id": incident_id, "incident_created_at": "t"},
            summary=f"[Incidente #{incident_id}] teste",
        ),
        source_id=f"sv-msg-{message_id}",
        content=f"SecurityVision:\nmensagem {message_id}",
    )
    now = datetime.now(UTC)
    return OutboxMessage(
        id=message_id,
        channel=CHATWOOT_CHANNEL,
        destination=f"incident:{incident_id}",
        payload=encode_delivery(delivery),
        created_at=now,
        next_attempt_at=now,
    )


async def test_refusals_rate_limits_and_token_problems(fake_chatwoot: FakeChatwoot) -> None:
    storage = InMemoryStorage()
    sender = publisher(fake_chatwoot, storage)
    await sender.start()
    try:
        fake_chatwoot.fail(429, retry_after="7")
        with pytest.raises(DeliveryFailed) as limited:
            await sender.publish(outbox_message(1, 10))
        assert limited.value.retry_after == timedelta(seconds=7)
        fake_chatwoot.fail(422)
        with pytest.raises(DeliveryRejected):
            await sender.publish(outbox_message(1, 10))
        await sender.publish(outbox_message(1, 10))
        await sender.publish(outbox_message(1, 10))  # a retry of a delivered one: not again
        conversation = fake_chatwoot.conversation_for(1)
        assert conversation is not None
        assert [m.source_id for m in conversation.messages] == ["sv-incident-1", "sv-msg-10"]
        # A conversation Chatwoot already has for the incident is reused, in the group's inbox.
        await sender.publish(outbox_message(2, 11, inbox="portaria-inbox"))
        await sender.publish(outbox_message(2, 12, inbox="portaria-inbox"))
        assert len(fake_chatwoot.conversations) == 2
        second = fake_chatwoot.conversation_for(2)
        assert second is not None
        assert (second.inbox_id, second.team_id) == (9, 5)
    finally:
        await sender.stop()

    wrong = publisher(fake_chatwoot, storage, token="not-the-token")
    await wrong.start()
    try:
        with pytest.raises(DeliveryFailed) as refused:
            await wrong.publish(outbox_message(3, 13))
        assert "401" in str(refused.value)
        assert "not-the-token" not in str(refused.value)
        assert wrong.state.last_error is not None
    finally:
        await wrong.stop()


async def test_unreachable_chatwoot_disconnects_the_publisher_until_it_answers(
    fake_chatwoot: FakeChatwoot,
) -> None:
    storage = InMemoryStorage()
    sender = publisher(fake_chatwoot, storage)
    await sender.start()
    try:
        fake_chatwoot.stop()
        with pytest.raises(DeliveryFailed, match="unreachable"):
            await sender.publish(outbox_message(1, 10))
        assert not sender.connected
        assert not await sender.wait_connected(0.3)
        fake_chatwoot.start()
        assert await sender.wait_connected(5)
        await sender.publish(outbox_message(1, 10))
        payload = json.loads(fake_chatwoot.calls("POST", "/messages")[-1].body)
        assert payload["source_id"] == "sv-msg-10"
    finally:
        await sender.stop()

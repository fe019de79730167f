"""``POST /api/v1/integrations/chatwoot/webhook`` over HTTP and PostgreSQL: Chatwoot's own
signed deliveries (the shared fixtures, byte for byte), tampering, wrong secret, stale
timestamps, missing headers, replays, the legacy token, and what each does to incidents."""

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from securityvision.config import load_settings
from securityvision.container import build_container
from securityvision.domain.chatwoot import webhook_signature
from securityvision.entrypoints.http import create_app
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support import images
from tests.support.clock import FakeClock
from tests.support.fake_chatwoot import FakeChatwoot
from tests.support.postgres import truncate_all
from tests.support.rtls import SHARED_FIXTURES

pytestmark = pytest.mark.postgres

FIXTURES = SHARED_FIXTURES / "chatwoot"
FIXTURE_SECRET = "test-only-webhook-secret"
# The fixtures' X-Chatwoot-Timestamp: 2026-11-29T10:00:00Z.
FIXTURE_TIME = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
WEBHOOK = "/api/v1/integrations/chatwoot/webhook"
Headers = dict[str, str]
Factory = Callable[..., AbstractAsyncContextManager[AsyncTestClient]]


def fixture(name: str) -> tuple[bytes, Headers]:
    body = (FIXTURES / f"{name}.json").read_bytes()
    headers = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    return body, headers


def signed(body: bytes, *, secret: str = FIXTURE_SECRET, at: datetime = FIXTURE_TIME) -> Headers:
    timestamp = str(int(at.timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Timestamp": timestamp,
        "X-Chatwoot-Delivery": f"delivery-{hash((body, timestamp))}",
        "X-Chatwoot-Signature": webhook_signature(secret, timestamp, body),
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FIXTURE_TIME + timedelta(seconds=30))


@pytest.fixture
async def webhook_client(migrated_database_url: str, clock: FakeClock, tmp_path: Path) -> Factory:
    await truncate_all(migrated_database_url)

    @asynccontextmanager
    async def make(**env: str) -> AsyncIterator[AsyncTestClient]:
        environ = {
            "DATABASE_URL": migrated_database_url,
            "SVPOS_SECRET_KEY": TEST_SECRET,
            "SUPERADMIN_EMAIL": ROOT_EMAIL,
            "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
            "MEDIA_ROOT": str(tmp_path / "media"),
        } | env
        container = build_container(load_settings(environ, env_file=None), clock=clock)
        async with AsyncTestClient(create_app(container), raise_server_exceptions=False) as c:
            yield c

    return make


async def incident_42(client: AsyncTestClient, url: str) -> Headers:
    """A camera and incident number 42 (the fixtures' incident); the root's headers."""
    root = await login(client, ROOT_EMAIL, ROOT_PASSWORD)
    camera = await client.post(
        "/api/v1/devices/cameras/", json={"name": "Portaria", "code": "fixa01"}, headers=root
    )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT setval(pg_get_serial_sequence('incidents', 'id'), 41)")
    created = await client.post(
        "/api/v1/incidents/",
        json={"device_id": camera.json()["id"], "title": "Face reconhecida", "severity": "HIGH"},
        headers=root,
    )
    assert created.json()["id"] == 42
    return root


async def timeline(client: AsyncTestClient, root: Headers, incident_id: int = 42) -> list[Any]:
    found = await client.get(f"/api/v1/incidents/{incident_id}/messages", headers=root)
    assert found.status_code == 200, found.text
    return list(found.json())


async def test_chatwoots_signed_deliveries_become_incident_changes_once(
    webhook_client: Factory, migrated_database_url: str
) -> None:
    async with webhook_client(CHATWOOT_WEBHOOK_SECRET=FIXTURE_SECRET) as client:
        root = await incident_42(client, migrated_database_url)
        users = await client.get("/api/v1/users/", headers=root)
        root_id = users.json()[0]["id"]
        await client.patch(
            f"/api/v1/users/{root_id}",
            json={"chatwoot_agent_id": 7, "full_name": "Root Operator"},
            headers=root,
        )

        body, headers = fixture("message_created")
        answer = await client.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "processed"
        entries = await timeline(client, root)
        reply = entries[-1]
        assert reply["message_type"] == "OPERATOR"  # not private
        assert reply["content"] == "Equipe a caminho da portaria."
        assert reply["author_name"] == "Root Operator"  # agent 7 is this user
        incident = (await client.get("/api/v1/incidents/42", headers=root)).json()
        assert incident["chatwoot_conversation_id"] == 912  # found by its attributes, kept

        # The same delivery again (Chatwoot retrying, or someone replaying it): nothing.
        again = await client.post(WEBHOOK, content=body, headers=headers)
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        assert len(await timeline(client, root)) == len(entries)

        # Our own summary coming back: skipped.
        echo_body, echo_headers = fixture("message_created_echo")
        echo = await client.post(WEBHOOK, content=echo_body, headers=echo_headers)
        assert echo.json()["status"] == "ignored"
        assert len(await timeline(client, root)) == len(entries)

        # The conversation resolved in Chatwoot resolves the incident.
        status_body, status_headers = fixture("conversation_status_changed")
        resolved = await client.post(WEBHOOK, content=status_body, headers=status_headers)
        assert resolved.json()["status"] == "processed"
        incident = (await client.get("/api/v1/incidents/42", headers=root)).json()
        assert incident["status"] == "RESOLVED"
        assert incident["closed_at"] is not None
        last = (await timeline(client, root))[-1]
        assert last["content"] == "Status alterado de OPEN para RESOLVED."
        assert last["author_name"] == "Chatwoot"

        # Reopened there: reopened here; a new delivery id of the same message: not twice.
        reopen = json.loads(status_body) | {"status": "open"}
        reopened_body = json.dumps(reopen).encode()
        opened = await client.post(WEBHOOK, content=reopened_body, headers=signed(reopened_body))
        assert opened.json()["status"] == "processed"
        incident = (await client.get("/api/v1/incidents/42", headers=root)).json()
        assert incident["status"] == "OPEN"
        assert incident["closed_at"] is None
        updated = json.loads(body) | {"event": "message_updated"}
        updated_body = json.dumps(updated).encode()
        count = len(await timeline(client, root))
        same = await client.post(WEBHOOK, content=updated_body, headers=signed(updated_body))
        assert same.json()["status"] == "duplicate"
        assert len(await timeline(client, root)) == count


REFUSALS = [
    ("tampered", "webhook_signature_invalid"),
    ("wrong_secret", "webhook_signature_invalid"),
    ("stale", "webhook_timestamp_out_of_range"),
    ("future", "webhook_timestamp_out_of_range"),
    ("no_signature", "webhook_signature_missing"),
    ("no_timestamp", "webhook_signature_missing"),
    ("token_instead", "webhook_signature_invalid"),
]


def altered(change: str) -> tuple[bytes, Headers]:
    body, headers = fixture("message_created")
    if change == "tampered":
        body = body.replace(b"portaria", b"garagem")
    elif change == "wrong_secret":
        headers = signed(body, secret="another-secret")
    elif change == "stale":
        headers = signed(body, at=FIXTURE_TIME - timedelta(seconds=301))
    elif change == "future":
        headers = signed(body, at=FIXTURE_TIME + timedelta(seconds=400))
    elif change == "no_signature":
        del headers["X-Chatwoot-Signature"]
    elif change == "no_timestamp":
        del headers["X-Chatwoot-Timestamp"]
    else:
        headers["X-Chatwoot-Signature"] = "legacy-token"
    return body, headers


async def test_a_delivery_not_signed_by_chatwoot_now_is_refused_and_changes_nothing(
    webhook_client: Factory, migrated_database_url: str
) -> None:
    async with webhook_client(
        CHATWOOT_WEBHOOK_SECRET=FIXTURE_SECRET, CHATWOOT_WEBHOOK_TOKEN="legacy-token"
    ) as client:
        root = await incident_42(client, migrated_database_url)
        for change, code in REFUSALS:
            body, headers = altered(change)
            answer = await client.post(WEBHOOK, content=body, headers=headers)
            assert answer.status_code == 401, (change, answer.text)
            assert answer.json()["code"] == code, change
            assert FIXTURE_SECRET not in answer.text
        assert await timeline(client, root) == []
        # Within the window, signed: accepted (the same delivery refused above, now genuine).
        body, headers = fixture("message_created")
        accepted = await client.post(WEBHOOK, content=body, headers=headers)
        assert accepted.json()["status"] == "processed"


async def test_with_nothing_configured_every_call_is_refused(
    webhook_client: Factory, migrated_database_url: str
) -> None:
    body, headers = fixture("message_created")
    async with webhook_client() as client:
        root = await incident_42(client, migrated_database_url)
        answer = await client.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "webhook_not_configured"
        assert len(await timeline(client, root)) == 0


async def test_the_legacy_token_works_only_when_it_is_all_that_is_configured(
    webhook_client: Factory, migrated_database_url: str
) -> None:
    body, _ = fixture("message_created")
    async with webhook_client(CHATWOOT_WEBHOOK_TOKEN="legacy-token") as client:
        root = await incident_42(client, migrated_database_url)
        wrong = await client.post(WEBHOOK, content=body, headers={"X-Chatwoot-Signature": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "webhook_token_invalid"
        missing = await client.post(WEBHOOK, content=body)
        assert missing.status_code == 401
        right = await client.post(
            WEBHOOK, content=body, headers={"X-Chatwoot-Signature": "legacy-token"}
        )
        assert right.status_code == 200, right.text
        assert right.json()["status"] == "processed"
        assert (await timeline(client, root))[-1]["author_name"] == "Agent Smith"


async def test_unknown_events_and_bad_bodies(
    webhook_client: Factory, migrated_database_url: str
) -> None:
    async with webhook_client(CHATWOOT_WEBHOOK_SECRET=FIXTURE_SECRET) as client:
        root = await incident_42(client, migrated_database_url)
        unknown = b'{"event": "contact_updated", "id": 31}'
        answer = await client.post(WEBHOOK, content=unknown, headers=signed(unknown))
        assert answer.status_code == 200
        assert answer.json()["status"] == "ignored"
        garbage = b"not json"
        bad = await client.post(WEBHOOK, content=garbage, headers=signed(garbage))
        assert bad.status_code == 422
        assert bad.json()["code"] == "invalid_payload"
        elsewhere = json.loads(fixture("message_created")[0])
        elsewhere["conversation"] = {"id": 5555, "custom_attributes": {}}
        other = json.dumps(elsewhere).encode()
        ignored = await client.post(WEBHOOK, content=other, headers=signed(other))
        assert ignored.json()["status"] == "ignored"
        assert len(await timeline(client, root)) == 0


async def test_attachments_are_fetched_only_from_chatwoot_and_only_images(
    webhook_client: Factory, migrated_database_url: str, fake_chatwoot: FakeChatwoot
) -> None:
    files = {"/files/photo.png": images.png(), "/files/report.pdf": b"%PDF-1.4 not an image"}
    fake_chatwoot.files = files
    event = json.loads(fixture("message_created")[0])
    event["content"] = "Fotos do local"
    event["attachments"] = [
        {"id": 1, "file_type": "image", "data_url": f"{fake_chatwoot.url}/files/photo.png"},
        {"id": 2, "file_type": "file", "data_url": f"{fake_chatwoot.url}/files/report.pdf"},
        {"id": 3, "file_type": "image", "data_url": "http://169.254.169.254/latest/meta-data"},
    ]
    body = json.dumps(event).encode()
    async with webhook_client(
        CHATWOOT_WEBHOOK_SECRET=FIXTURE_SECRET, CHATWOOT_BASE_URL=fake_chatwoot.url
    ) as client:
        root = await incident_42(client, migrated_database_url)
        answer = await client.post(WEBHOOK, content=body, headers=signed(body))
        assert answer.json()["status"] == "processed", answer.text
        text, media = await timeline(client, root)
        assert media["message_type"] == "MEDIA"
        stored = await client.get(media["media_url"])
        assert stored.content == files["/files/photo.png"]
        assert "unsupported_image_type" in text["content"]
        assert "fora do Chatwoot" in text["content"]
    fetched = [r.path for r in fake_chatwoot.requests if r.path.startswith("/files/")]
    assert sorted(fetched) == ["/files/photo.png", "/files/report.pdf"]

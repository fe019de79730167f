"""Outbound webhooks end to end: changes enqueue deliveries in their own transactions, the
webhook relay posts them to a real HTTP server, signed, and a server that was down gets every
one exactly once, in order, once it is back."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.application.relay import OutboxRelay
from securityvision.application.webhooks import WebhookChanges, WebhookDraft
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.alerts import AlertRuleType, NewAlertRule
from securityvision.domain.outbox import Backoff
from securityvision.domain.webhooks import WEBHOOK_CHANNEL, WebhookEventType, signature_matches
from securityvision.entrypoints.http import create_app
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support.databases import temporary_database
from tests.support.rtls import query, wait_for
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.postgres

SECRET = "shared-secret-of-the-soc-0123456789"


@pytest.fixture
async def container(postgres_server_url: str) -> AsyncIterator[Container]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "RTLS_MQTT_ENABLED": "false",
                "DEVICE_SECRETS_KEY": "s" * 48,
                "WEBHOOK_TIMEOUT_SECONDS": "2",
            },
            env_file=None,
        )
        built = build_container(settings)
        storage = built.storage()
        await storage.open()
        try:
            yield built
        finally:
            await storage.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    try:
        yield server
    finally:
        await server.stop()


def _relay(container: Container) -> OutboxRelay:
    storage = container.storage()
    return OutboxRelay(
        channel=WEBHOOK_CHANNEL,
        uow=storage.unit_of_work,
        publisher=container.webhook_publisher(),
        locks=storage.locks,
        backoff=Backoff(first=timedelta(seconds=0.2), limit=timedelta(seconds=1)),
        poll_seconds=0.1,
    )


async def test_a_receiver_down_for_a_while_gets_every_webhook_once_signed_and_in_order(
    container: Container, receiver: WebhookReceiver
) -> None:
    url = container.settings().database_conninfo()
    subscription = await container.create_webhook().execute(
        WebhookDraft(name="SOC", url=receiver.url, secret_token=SECRET)
    )
    await container.create_webhook().execute(
        WebhookDraft(
            name="only incidents",
            url=receiver.url,
            event_type_filter=WebhookEventType.INCIDENT_CREATED,
        )
    )
    # Changes made while the receiver is down: rules created, changed, deleted.
    rules = [
        await container.create_alert_rule().execute(
            NewAlertRule(name=f"Regra {n}", rule_type=AlertRuleType.DWELL_TIME)
        )
        for n in range(4)
    ]
    await container.delete_alert_rule().execute(rules[0].id)
    expected = [
        *(("ALERT_RULE_CREATED", r.id) for r in rules),
        ("ALERT_RULE_DELETED", rules[0].id),
    ]
    queued = await query(url, "SELECT count(*) FROM outbox WHERE channel = 'webhook'")
    assert queued[0][0] == len(expected)

    stop = asyncio.Event()
    relay = asyncio.create_task(_relay(container).run(stop))
    try:

        async def attempted() -> bool:
            rows = await query(
                url, "SELECT attempts, last_error FROM outbox WHERE channel = 'webhook'"
            )
            return any(attempts > 0 for attempts, _ in rows)

        await wait_for(attempted, what="a failed attempt while the receiver is down")
        errors = await query(url, "SELECT last_error FROM outbox WHERE last_error IS NOT NULL")
        assert errors
        assert all(SECRET not in e and receiver.url not in e for (e,) in errors)
        assert receiver.received == []

        receiver.busy = 1  # back, but still busy once: 503 with Retry-After
        await receiver.start()

        async def all_delivered() -> bool:
            return len(receiver.received) >= len(expected)

        await wait_for(all_delivered, seconds=30, what="every webhook")
        await asyncio.sleep(1.0)  # nothing more may come
    finally:
        stop.set()
        await asyncio.wait_for(relay, 15)

    assert receiver.refused == 1
    assert len(receiver.received) == len(expected)
    delivery_ids = [r.headers["x-sv-delivery-id"] for r in receiver.received]
    assert len(set(delivery_ids)) == len(delivery_ids)
    bodies = [json.loads(r.body) for r in receiver.received]
    got = [(b["event_type"], b["payload"]["rule_id"]) for b in bodies]
    assert got == expected
    for request, body in zip(receiver.received, bodies, strict=True):
        assert request.path == "/hooks/soc"
        assert request.headers["x-sv-webhook-id"] == str(subscription.id)
        assert request.headers["x-sv-event-type"] == body["event_type"]
        assert request.headers["content-type"] == "application/json"
        assert signature_matches(SECRET, request.body, request.headers["x-sv-signature"])
        assert set(body) == {"event_type", "timestamp", "payload"}
    left = await query(url, "SELECT count(*) FROM outbox WHERE channel = 'webhook'")
    assert left[0][0] == 0


async def test_a_refusal_for_good_is_a_dead_letter_and_a_disabled_subscription_takes_no_more(
    container: Container, receiver: WebhookReceiver
) -> None:
    url = container.settings().database_conninfo()
    await receiver.start()
    gone = await container.create_webhook().execute(
        WebhookDraft(name="gone", url=receiver.url.replace("/hooks/soc", "/missing"))
    )
    paused = await container.create_webhook().execute(WebhookDraft(name="paused", url=receiver.url))
    await container.create_alert_rule().execute(
        NewAlertRule(name="Regra", rule_type=AlertRuleType.FORBIDDEN_SECTOR)
    )
    await container.update_webhook().execute(paused.id, WebhookChanges(is_active=False))
    # The receiver answers 404 outside /hooks/ (a refusal for good).

    stop = asyncio.Event()
    relay = asyncio.create_task(_relay(container).run(stop))
    try:

        async def settled() -> bool:
            rows = await query(
                url,
                "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND dead_at IS NULL",
            )
            return rows[0][0] == 0

        await wait_for(settled, seconds=30, what="both messages to be settled")
    finally:
        stop.set()
        await asyncio.wait_for(relay, 15)
    dead = await query(
        url, "SELECT destination, last_error FROM outbox WHERE dead_at IS NOT NULL ORDER BY id"
    )
    assert [d for d, _ in dead] == [str(gone.id), str(paused.id)]
    assert "answered 404" in dead[0][1]
    assert "disabled" in dead[1][1]


# --- /health ------------------------------------------------------------------------------

Headers = dict[str, str]


@asynccontextmanager
async def api(url: str, **env: str) -> AsyncIterator[tuple[AsyncTestClient, Headers]]:
    """The API over ``url``, running its relays as a deployment does."""
    environ = {
        "DATABASE_URL": url,
        "SVPOS_SECRET_KEY": TEST_SECRET,
        "SUPERADMIN_EMAIL": ROOT_EMAIL,
        "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
        "RTLS_MQTT_ENABLED": "false",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
    } | env
    container = build_container(load_settings(environ, env_file=None))
    async with AsyncTestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client, await login(client, ROOT_EMAIL, ROOT_PASSWORD)


async def health_until(
    client: AsyncTestClient, wanted: dict[str, Any], *, what: str
) -> dict[str, Any]:
    """``/health`` once its ``webhooks`` block has the ``wanted`` values (probes are cached
    for 5 s, and the relay retries on its own time)."""
    seen: dict[str, Any] = {}

    async def matches() -> bool:
        seen.update((await client.get("/health")).json())
        return all(seen["webhooks"].get(k) == v for k, v in wanted.items())

    try:
        await wait_for(matches, seconds=45, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last /health: {seen}") from None
    return seen


async def test_health_shows_the_webhook_relay_with_what_waits_what_was_refused_and_when_stuck(
    postgres_server_url: str, receiver: WebhookReceiver
) -> None:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        async with api(url) as (client, root):
            for name, hook_url in (
                ("SOC", receiver.url),
                ("gone", receiver.url.replace("/hooks/soc", "/missing")),
            ):
                created = await client.post(
                    "/api/v1/webhooks/", json={"name": name, "url": hook_url}, headers=root
                )
                assert created.status_code == 201, created.text

            async def rule(name: str) -> None:
                body = {"name": name, "rule_type": "DWELL_TIME"}
                created = await client.post("/api/v1/alert-rules/", json=body, headers=root)
                assert created.status_code == 201, created.text

            # The receiver is down: both deliveries wait.
            await rule("Regra 1")
            health = await health_until(
                client,
                {"status": "up", "backlog": 2, "dead_letters": 0},
                what="two webhooks waiting",
            )
            webhooks = health["webhooks"]
            assert webhooks["relay"] == {"state": "active", "broker": "connected"}
            assert webhooks["oldest_age_seconds"] >= 0
            assert health["status"] == "ok"

            # Back: one delivered, the other refused for good (404), a dead letter.
            await receiver.start()
            await health_until(
                client,
                {"status": "up", "backlog": 0, "dead_letters": 1},
                what="one webhook delivered and one dead letter",
            )
            assert len(receiver.received) == 1

            # Down again for longer than deliveries should ever wait.
            await receiver.stop()
            await rule("Regra 2")
            aged = await query(
                url,
                "UPDATE outbox SET created_at = now() - interval '10 minutes'"
                " WHERE channel = 'webhook' AND dead_at IS NULL RETURNING id",
            )
            assert len(aged) == 2
            health = await health_until(
                client, {"status": "stuck", "backlog": 2}, what="the webhooks to be stuck"
            )
            assert health["status"] == "degraded"
            assert health["webhooks"]["detail"] == "messages wait longer than they should"

        async with api(url, WEBHOOKS_ENABLED="false") as (client, _):
            health = (await client.get("/health")).json()
        assert health["webhooks"] == {"status": "disabled"}

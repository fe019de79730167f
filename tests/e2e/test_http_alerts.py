"""Alert rules, alert events and webhook subscriptions over HTTP: the front end's exact bodies,
the write-only secret, the event-type catalog, and who may do what."""

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import ClientFactory, login

pytestmark = pytest.mark.postgres

Headers = dict[str, str]
RULES = "/api/v1/alert-rules/"
EVENTS = "/api/v1/alert-events/"
WEBHOOKS = "/api/v1/webhooks/"
SECRETS_KEY = "k" * 48
SECRET = "webhook-shared-secret-0123456789"


@pytest.fixture
async def secure_client(api_client: ClientFactory) -> AsyncIterator[AsyncTestClient]:
    async with api_client(DEVICE_SECRETS_KEY=SECRETS_KEY) as c:
        yield c


async def _user(client: AsyncTestClient, root: Headers, name: str, role: str) -> Headers:
    body = {
        "email": f"{name}@example.com",
        "password": "member password 1",
        "role": role,
        "full_name": name,
    }
    created = await client.post("/api/v1/users/", json=body, headers=root)
    assert created.status_code == 201, created.text
    return await login(client, f"{name}@example.com", "member password 1")


async def _gateway_and_group(client: AsyncTestClient, root: Headers) -> tuple[int, int]:
    device = await client.post(
        "/api/v1/devices/",
        json={"name": "Gateway Data Center", "mac_address": "AA:BB:CC:00:00:01"},
        headers=root,
    )
    assert device.status_code == 201, device.text
    group = await client.post("/api/v1/person-groups/", json={"name": "Visitantes"}, headers=root)
    assert group.status_code == 201, group.text
    return device.json()["id"], group.json()["id"]


async def test_alert_rules_as_the_rules_page_manages_them(client: AsyncTestClient) -> None:
    root = await login(client, "root@example.com", "root password 123")
    device_id, group_id = await _gateway_and_group(client, root)
    forbidden = {
        "name": "Visitantes no data center",
        "description": None,
        "rule_type": "FORBIDDEN_SECTOR",
        "group_id": group_id,
        "device_id": device_id,
        "max_dwell_seconds": None,
        "is_active": True,
    }
    created = await client.post(RULES, json=forbidden, headers=root)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert {k: rule[k] for k in forbidden} == forbidden
    assert {"id", "created_at"} <= rule.keys()

    dwell = await client.post(
        RULES, json={"name": "Permanência", "rule_type": "DWELL_TIME"}, headers=root
    )
    assert dwell.status_code == 201, dwell.text
    assert dwell.json()["max_dwell_seconds"] == 300

    listed = await client.get(RULES, params={"rule_type": "FORBIDDEN_SECTOR"}, headers=root)
    assert [r["id"] for r in listed.json()] == [rule["id"]]
    by_device = await client.get(RULES, params={"device_id": device_id, "limit": 1}, headers=root)
    assert [r["id"] for r in by_device.json()] == [rule["id"]]

    toggled = await client.put(f"{RULES}{rule['id']}", json={"is_active": False}, headers=root)
    assert toggled.status_code == 200, toggled.text
    assert toggled.json()["is_active"] is False
    assert toggled.json()["group_id"] == group_id
    assert (await client.get(RULES, params={"is_active": "false"}, headers=root)).json()[0][
        "id"
    ] == rule["id"]

    deleted = await client.delete(f"{RULES}{rule['id']}", headers=root)
    assert deleted.status_code == 204
    assert (await client.get(f"{RULES}{rule['id']}", headers=root)).status_code == 404


async def test_alert_rules_refuse_what_they_cannot_keep(client: AsyncTestClient) -> None:
    root = await login(client, "root@example.com", "root password 123")
    missing_group = await client.post(
        RULES, json={"name": "x", "rule_type": "FORBIDDEN_SECTOR", "group_id": 999}, headers=root
    )
    assert missing_group.status_code == 404
    assert missing_group.json()["code"] == "person_group_not_found"
    bad_limit = await client.post(
        RULES, json={"name": "x", "rule_type": "DWELL_TIME", "max_dwell_seconds": 0}, headers=root
    )
    assert bad_limit.status_code == 422
    assert bad_limit.json()["code"] == "invalid_max_dwell"
    unknown_type = await client.post(RULES, json={"name": "x", "rule_type": "NOPE"}, headers=root)
    assert unknown_type.status_code == 422
    assert (await client.get(RULES, headers=root)).json() == []


async def test_alert_events_read_as_the_front_end_reads_them(
    client: AsyncTestClient, migrated_database_url: str
) -> None:
    root = await login(client, "root@example.com", "root password 123")
    device_id, _ = await _gateway_and_group(client, root)
    async with await psycopg.AsyncConnection.connect(migrated_database_url) as conn:
        for n in range(55):
            await conn.execute(
                "INSERT INTO alert_events (event_type, device_id, started_at, last_seen_at,"
                " ended_at, is_open, message, payload)"
                " VALUES ('GATEWAY_ONLINE', %s, now() + %s * interval '1 second',"
                " now() + %s * interval '1 second', now() + %s * interval '1 second', false,"
                " 'back', %s)",
                [device_id, n, n, n, json.dumps({"offline_seconds": n, "close_reason": "x"})],
            )
        await conn.commit()
    listed = await client.get(EVENTS, headers=root)
    assert listed.status_code == 200
    events = listed.json()
    assert len(events) == 50
    first = events[0]
    assert {
        "id",
        "event_type",
        "rule_id",
        "person_id",
        "device_id",
        "started_at",
        "last_seen_at",
        "ended_at",
        "payload",
    } <= first.keys()
    assert isinstance(first["payload"], str)
    assert json.loads(first["payload"])["offline_seconds"] == 54
    assert (await client.get(EVENTS, params={"limit": 20}, headers=root)).json()[0] == first
    one = await client.get(f"{EVENTS}{first['id']}", headers=root)
    assert one.json() == first
    assert (await client.get(f"{EVENTS}999999", headers=root)).status_code == 404
    assert (
        await client.get(EVENTS, params={"event_type": "GATEWAY_OFFLINE"}, headers=root)
    ).json() == []


async def test_webhook_secrets_are_write_only_and_encrypted_at_rest(
    secure_client: AsyncTestClient, migrated_database_url: str
) -> None:
    client = secure_client
    root = await login(client, "root@example.com", "root password 123")
    body = {
        "name": "SOC",
        "url": "http://127.0.0.1:9/hook",
        "secret_token": SECRET,
        "event_type_filter": None,
        "is_active": True,
    }
    created = await client.post(WEBHOOKS, json=body, headers=root)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret_token"] is None
    assert hook["has_secret"] is True
    assert SECRET not in created.text
    for response in (
        await client.get(WEBHOOKS, headers=root),
        await client.get(f"{WEBHOOKS}{hook['id']}", headers=root),
    ):
        assert response.status_code == 200
        assert SECRET not in response.text
    async with await psycopg.AsyncConnection.connect(migrated_database_url) as conn:
        row = await (
            await conn.execute("SELECT secret_encrypted FROM webhook_subscriptions")
        ).fetchone()
    assert row is not None
    assert SECRET.encode() not in bytes(row[0])

    # The toggle (and a form echoing the null it read) keeps the secret; "" removes it.
    toggled = await client.put(
        f"{WEBHOOKS}{hook['id']}", json={"is_active": False, "secret_token": None}, headers=root
    )
    assert toggled.json()["is_active"] is False
    assert toggled.json()["has_secret"] is True
    cleared = await client.put(f"{WEBHOOKS}{hook['id']}", json={"secret_token": ""}, headers=root)
    assert cleared.json()["has_secret"] is False

    unknown = await client.post(
        WEBHOOKS, json=body | {"event_type_filter": "SOMETHING_ELSE"}, headers=root
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_event_type"
    not_http = await client.post(WEBHOOKS, json=body | {"url": "file:///etc/passwd"}, headers=root)
    assert not_http.status_code == 422
    assert not_http.json()["code"] == "invalid_url"
    assert (await client.delete(f"{WEBHOOKS}{hook['id']}", headers=root)).status_code == 204
    assert (await client.get(f"{WEBHOOKS}{hook['id']}", headers=root)).status_code == 404


async def test_a_secret_is_refused_without_a_key_to_encrypt_it(client: AsyncTestClient) -> None:
    root = await login(client, "root@example.com", "root password 123")
    body = {"name": "SOC", "url": "https://soc.example.com/hook", "secret_token": SECRET}
    refused = await client.post(WEBHOOKS, json=body, headers=root)
    assert refused.status_code == 422
    assert refused.json()["code"] == "secrets_key_missing"
    unsigned = await client.post(WEBHOOKS, json=body | {"secret_token": None}, headers=root)
    assert unsigned.status_code == 201


async def test_webhooks_are_for_admins_and_rules_for_admins_to_change(
    client: AsyncTestClient,
) -> None:
    root = await login(client, "root@example.com", "root password 123")
    operator = await _user(client, root, "operator", "OPERATOR")
    viewer = await _user(client, root, "viewer", "VIEWER")
    assert (await client.get(WEBHOOKS, headers=operator)).status_code == 403
    assert (await client.get(f"{WEBHOOKS[:-1]}/event-types", headers=operator)).status_code == 403
    hook = {"name": "x", "url": "https://soc.example.com/hook"}
    assert (await client.post(WEBHOOKS, json=hook, headers=operator)).status_code == 403
    rule = {"name": "x", "rule_type": "FORBIDDEN_SECTOR"}
    assert (await client.post(RULES, json=rule, headers=operator)).status_code == 403
    assert (await client.get(RULES, headers=viewer)).status_code == 200
    assert (await client.get(EVENTS, headers=viewer)).status_code == 200


async def test_the_event_type_catalog_samples_the_real_envelope(client: AsyncTestClient) -> None:
    root = await login(client, "root@example.com", "root password 123")
    response = await client.get("/api/v1/webhooks/event-types", headers=root)
    assert response.status_code == 200
    catalog = response.json()
    types = {c["event_type"] for c in catalog}
    assert {
        "FORBIDDEN_SECTOR",
        "DWELL_TIME",
        "GATEWAY_OFFLINE",
        "GATEWAY_ONLINE",
        "INCIDENT_CREATED",
        "INCIDENT_STATUS_CHANGED",
        "INCIDENT_REOPENED",
        "INCIDENT_MESSAGE_CREATED",
        "ALERT_RULE_CREATED",
    } <= types
    for entry in catalog:
        sample: dict[str, Any] = entry["sample_payload"]
        assert set(sample) == {"event_type", "timestamp", "payload"}
        assert sample["event_type"] == entry["event_type"]
        assert entry["label"]
        assert entry["description"]
    alert = next(c for c in catalog if c["event_type"] == "FORBIDDEN_SECTOR")["sample_payload"]
    assert {"alert_event_id", "rule_id", "tag_id", "person_id", "is_open", "message"} <= set(
        alert["payload"]
    )


async def test_an_incident_goes_out_to_its_subscribers_through_the_outbox(
    secure_client: AsyncTestClient, migrated_database_url: str
) -> None:
    client = secure_client
    root = await login(client, "root@example.com", "root password 123")
    device_id, _ = await _gateway_and_group(client, root)
    wanted = await client.post(
        WEBHOOKS,
        json={
            "name": "incidents",
            "url": "http://127.0.0.1:9/hook",
            "secret_token": SECRET,
            "event_type_filter": "INCIDENT_CREATED",
        },
        headers=root,
    )
    await client.post(
        WEBHOOKS,
        json={
            "name": "only rules",
            "url": "http://127.0.0.1:9/r",
            "event_type_filter": "DWELL_TIME",
        },
        headers=root,
    )
    created = await client.post(
        "/api/v1/incidents/", json={"device_id": device_id, "title": "Porta forçada"}, headers=root
    )
    assert created.status_code == 201, created.text
    async with await psycopg.AsyncConnection.connect(migrated_database_url) as conn:
        rows = await (
            await conn.execute(
                "SELECT destination, payload, options FROM outbox WHERE channel = 'webhook'"
            )
        ).fetchall()
    assert [r[0] for r in rows] == [str(wanted.json()["id"])]
    body = json.loads(bytes(rows[0][1]))
    assert body["event_type"] == "INCIDENT_CREATED"
    assert body["payload"]["incident_id"] == created.json()["id"]
    assert body["payload"]["title"] == "Porta forçada"
    assert SECRET.encode() not in bytes(rows[0][1])
    assert SECRET not in json.dumps(rows[0][2])


async def test_changes_of_the_register_go_out_as_the_original_named_them(
    client: AsyncTestClient, migrated_database_url: str
) -> None:
    root = await login(client, "root@example.com", "root password 123")
    hook = await client.post(
        WEBHOOKS, json={"name": "all", "url": "https://soc.example.com/hook"}, headers=root
    )
    assert hook.status_code == 201, hook.text
    person = await client.post("/api/v1/people/", json={"full_name": "Ana"}, headers=root)
    tag = await client.post(
        "/api/v1/tags/",
        json={"mac_address": "aa:bb:cc:dd:ee:99", "person_id": person.json()["id"]},
        headers=root,
    )
    building = await client.post(
        "/api/v1/buildings/", json={"name": "Sede", "code": "SEDE"}, headers=root
    )
    device_id, _ = await _gateway_and_group(client, root)
    moved = await client.put(
        f"/api/v1/devices/{device_id}", json={"pos_x": 0.5, "pos_y": 0.25}, headers=root
    )
    assert moved.status_code == 200, moved.text
    assert (
        await client.delete(f"/api/v1/tags/{tag.json()['id']}", headers=root)
    ).status_code == 204
    async with await psycopg.AsyncConnection.connect(migrated_database_url) as conn:
        rows = await (
            await conn.execute("SELECT payload FROM outbox WHERE channel = 'webhook' ORDER BY id")
        ).fetchall()
    bodies = [json.loads(bytes(r[0])) for r in rows]
    assert [b["event_type"] for b in bodies] == [
        "PERSON_CREATED",
        "TAG_CREATED",
        "BUILDING_CREATED",
        "DEVICE_CREATED",
        "DEVICE_UPDATED",
        "DEVICE_POSITION_UPDATED",
        "TAG_DELETED",
    ]
    assert bodies[1]["payload"]["mac_address"] == "AA:BB:CC:DD:EE:99"
    assert bodies[2]["payload"]["building_id"] == building.json()["id"]
    assert bodies[5]["payload"]["pos_x"] == 0.5
    assert bodies[6]["payload"]["tag_id"] == tag.json()["id"]


async def test_a_reading_typed_in_by_hand_raises_its_alert(
    client: AsyncTestClient,
) -> None:
    root = await login(client, "root@example.com", "root password 123")
    device_id, group_id = await _gateway_and_group(client, root)
    person = await client.post(
        "/api/v1/people/", json={"full_name": "Ana", "group_ids": [group_id]}, headers=root
    )
    tag = await client.post(
        "/api/v1/tags/",
        json={"mac_address": "aa:bb:cc:dd:ee:77", "person_id": person.json()["id"]},
        headers=root,
    )
    rule = {
        "name": "Visitantes",
        "rule_type": "FORBIDDEN_SECTOR",
        "group_id": group_id,
        "device_id": device_id,
    }
    assert (await client.post(RULES, json=rule, headers=root)).status_code == 201
    reading = {"device_id": device_id, "tag_id": tag.json()["id"], "rssi": -60}
    logged = await client.post("/api/v1/collection-logs/", json=reading, headers=root)
    assert logged.status_code == 201, logged.text
    (event,) = (await client.get(EVENTS, headers=root)).json()
    assert event["event_type"] == "FORBIDDEN_SECTOR"
    assert event["is_open"] is True
    assert event["person_id"] == person.json()["id"]
    assert event["message"] == "Entrada em setor proibido: Ana no gateway 'Gateway Data Center'."

"""Cameras, their events and camera groups over HTTP: the front end's exact bodies, encrypted
passwords that are never returned, events newest first, and the roles."""

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from securityvision.adapters.embedded import free_port
from tests.e2e.conftest import ClientFactory, login

pytestmark = pytest.mark.postgres

PASSWORD = "member password 1"
SECRETS_KEY = "device-secrets-key-" + "z" * 40
CAMERAS = "/api/v1/devices/cameras/"
GROUPS = "/api/v1/devices/camera-groups/"
Headers = dict[str, str]
Database = psycopg.AsyncConnection[tuple[Any, ...]]


@pytest.fixture
async def db(migrated_database_url: str) -> AsyncIterator[Database]:
    async with await psycopg.AsyncConnection.connect(
        migrated_database_url, autocommit=True
    ) as conn:
        yield conn


@pytest.fixture
async def keyed(api_client: ClientFactory) -> AsyncIterator[AsyncTestClient]:
    """The API with DEVICE_SECRETS_KEY set."""
    async with api_client(DEVICE_SECRETS_KEY=SECRETS_KEY) as c:
        yield c


async def headers_of(client: AsyncTestClient, role: str = "ROOT") -> Headers:
    root = await login(client, "root@example.com", "root password 123")
    if role == "ROOT":
        return root
    email = f"{role.lower()}@example.com"
    body = {"email": email, "password": PASSWORD, "role": role}
    response = await client.post("/api/v1/users/", json=body, headers=root)
    assert response.status_code == 201, response.text
    return await login(client, email, PASSWORD)


def front_end_camera(**extra: object) -> dict[str, object]:
    """What the Devices page posts (CLIENTS.md §7)."""
    return {
        "name": "Portaria",
        "code": "fixa01",
        "building_id": None,
        "floor_id": None,
        "ip_address": "10.0.0.10",
        "port": 80,
        "rtsp_url": "rtsp://10.0.0.10:554/Streaming/Channels/101",
        "central_media_mtx_ip": "mtx.example.com",
        "username": "admin",
        "password": "s3cret-camera",
        "manufacturer": "Hikvision",
        "model": "any",
        "proxy_path": None,
        "central_path": None,
        "analytics": ["faceCapture", "VMD"],
    } | extra


async def test_the_front_ends_camera_bodies_store_an_encrypted_password_never_returned(
    keyed: AsyncTestClient, db: Database
) -> None:
    root = await headers_of(keyed)
    created = await keyed.post(CAMERAS, json=front_end_camera(type="BLE_GATEWAY"), headers=root)
    assert created.status_code == 201, created.text
    camera = created.json()
    assert (camera["type"], camera["shard"], camera["analytics"]) == (
        "CAMERA",
        "shard-1",
        ["faceCapture", "VMD"],
    )
    assert "password" not in camera
    assert "s3cret-camera" not in created.text
    cursor = await db.execute(
        "SELECT password_encrypted FROM devices WHERE id = %s", [camera["id"]]
    )
    row = await cursor.fetchone()
    assert row is not None
    assert row[0] is not None
    assert b"s3cret-camera" not in bytes(row[0])
    path = f"{CAMERAS}{camera['id']}"
    edited = await keyed.put(
        path, json={"name": "Portaria 2", "port": 8080, "analytics": ["faceCapture"]}, headers=root
    )
    assert edited.status_code == 200, edited.text
    assert edited.json() == camera | {
        "name": "Portaria 2",
        "port": 8080,
        "analytics": ["faceCapture"],
        "updated_at": edited.json()["updated_at"],
    }
    moved = await keyed.put(
        path,
        json={"floor_plan_id": None, "pos_x": None, "pos_y": None, "proxy_path": "a/b/fixa01"},
        headers=root,
    )
    assert moved.json()["proxy_path"] == "a/b/fixa01"
    listed = await keyed.get(CAMERAS, headers=root)
    assert [(c["id"], c["name"], c["code"]) for c in listed.json()] == [
        (camera["id"], "Portaria 2", "fixa01")
    ]
    duplicate = await keyed.post(CAMERAS, json=front_end_camera(), headers=root)
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, "device_code_taken")
    status = await keyed.get("/api/v1/devices/cameras/status", headers=root)
    assert [(s["id"], s["is_online"]) for s in status.json()] == [(camera["id"], False)]
    for response in (created, edited, moved, listed, status):
        assert "s3cret" not in response.text


async def test_camera_changes_reach_webhook_subscribers_as_any_device_change_does(
    keyed: AsyncTestClient, db: Database
) -> None:
    root = await headers_of(keyed)
    hook = await keyed.post(
        "/api/v1/webhooks/", json={"name": "all", "url": "https://soc.example.com/h"}, headers=root
    )
    assert hook.status_code == 201, hook.text
    created = await keyed.post(CAMERAS, json=front_end_camera(), headers=root)
    assert created.status_code == 201, created.text
    camera_id = created.json()["id"]
    path = f"{CAMERAS}{camera_id}"
    for body in (
        {"name": "Portaria 2"},
        {"pos_x": 0.5, "pos_y": 0.25},  # the drag on the plan
        {"password": "n3w-camera-s3cret"},  # new credentials alone are a change too
        {},  # nothing sent, nothing to tell
    ):
        changed = await keyed.put(path, json=body, headers=root)
        assert changed.status_code == 200, changed.text
    refused = await keyed.post(CAMERAS, json=front_end_camera(), headers=root)
    assert refused.status_code == 400, refused.text
    deleted = await keyed.delete(f"/api/v1/devices/{camera_id}", headers=root)
    assert deleted.status_code == 204, deleted.text

    cursor = await db.execute(
        "SELECT destination, payload FROM outbox WHERE channel = 'webhook' ORDER BY id"
    )
    rows = await cursor.fetchall()
    assert {destination for destination, _ in rows} == {str(hook.json()["id"])}
    bodies = [json.loads(bytes(payload)) for _, payload in rows]
    assert [b["event_type"] for b in bodies] == [
        "DEVICE_CREATED",
        "DEVICE_UPDATED",
        "DEVICE_UPDATED",
        "DEVICE_POSITION_UPDATED",
        "DEVICE_UPDATED",
        "DEVICE_DELETED",
    ]
    assert {b["payload"]["device_id"] for b in bodies} == {camera_id}
    assert (bodies[0]["payload"]["type"], bodies[0]["payload"]["code"]) == ("CAMERA", "fixa01")
    assert bodies[1]["payload"]["name"] == "Portaria 2"
    assert (bodies[3]["payload"]["pos_x"], bodies[3]["payload"]["pos_y"]) == (0.5, 0.25)
    for _, payload in rows:
        assert b"s3cret" not in bytes(payload)
        assert b"admin" not in bytes(payload)  # nor the camera's user name


async def test_a_password_without_the_secrets_key_is_refused_and_nothing_is_stored(
    client: AsyncTestClient,
) -> None:
    root = await headers_of(client)
    refused = await client.post(CAMERAS, json=front_end_camera(), headers=root)
    assert (refused.status_code, refused.json()["code"]) == (422, "secrets_key_missing")
    assert (await client.get(CAMERAS, headers=root)).json() == []
    without = front_end_camera()
    del without["password"]
    assert (await client.post(CAMERAS, json=without, headers=root)).status_code == 201


async def test_only_cameras_are_changed_through_the_camera_routes(client: AsyncTestClient) -> None:
    root = await headers_of(client)
    gateway = await client.post("/api/v1/devices/", json={"name": "GW"}, headers=root)
    path = f"{CAMERAS}{gateway.json()['id']}"
    refused = await client.put(path, json={"name": "x"}, headers=root)
    assert (refused.status_code, refused.json()["code"]) == (400, "not_a_camera")
    events = await client.get(f"{path}/events", headers=root)
    assert events.status_code == 400
    missing = await client.put(f"{CAMERAS}999999", json={"name": "x"}, headers=root)
    assert (missing.status_code, missing.json()["code"]) == (404, "device_not_found")


async def test_camera_events_list_newest_first_with_the_payload_as_an_object(
    client: AsyncTestClient,
) -> None:
    root = await headers_of(client)
    camera = (await client.post(CAMERAS, json={"name": "Cam", "code": "c1"}, headers=root)).json()
    path = f"{CAMERAS}{camera['id']}/events"
    status_event = {
        "topic": "rtls/cameras/default/a/t/camera/c1/status",
        "analytic_type": "cambus_status",
        "payload": {"status": "online", "timestamp": "2026-11-29T12:00:00Z", "password": "x"},
        "occurred_at": "2026-11-29T12:00:00Z",
    }
    capture = {
        "topic": "rtls/cameras/default/a/t/camera/c1/faceCapture/events",
        "analytic_type": "faceCapture",
        "payload": {"EventID": "json-1", "AnalyticType": "faceCapture", "Meta": {"facesCount": 1}},
        "occurred_at": "2026-11-29T12:00:05Z",
    }
    for body in (status_event, capture):
        response = await client.post(path, json=body, headers=root)
        assert response.status_code == 201, response.text
    again = await client.post(path, json=capture, headers=root)
    assert (again.status_code, again.json()["code"]) == (409, "device_event_exists")
    listed = await client.get(path, params={"limit": 30}, headers=root)
    assert listed.status_code == 200
    events = listed.json()
    assert [e["analytic_type"] for e in events] == ["faceCapture", "cambus_status"]
    assert events[0]["payload"]["Meta"] == {"facesCount": 1}
    assert events[1]["payload"] == {"status": "online", "timestamp": "2026-11-29T12:00:00Z"}
    assert {
        "id",
        "device_id",
        "topic",
        "analytic_type",
        "payload",
        "occurred_at",
        "created_at",
    } <= (set(events[0]))
    one = await client.get(path, params={"limit": 1}, headers=root)
    assert len(one.json()) == 1
    too_many = await client.get(path, params={"limit": 1001}, headers=root)
    assert too_many.status_code == 422


async def test_an_event_posted_for_a_camera_runs_the_incident_rules(
    client: AsyncTestClient,
) -> None:
    root = await headers_of(client)
    rule = await client.post(
        "/api/v1/incident-rules/",
        json={"name": "Faces", "enabled": True, "analytic_type": "faceCapture"},
        headers=root,
    )
    assert rule.status_code == 201, rule.text
    camera = (await client.post(CAMERAS, json={"name": "Cam", "code": "c1"}, headers=root)).json()
    posted = await client.post(
        f"{CAMERAS}{camera['id']}/events",
        json={"analytic_type": "faceCapture", "payload": {"EventID": "e1", "Tenant": "default"}},
        headers=root,
    )
    assert posted.status_code == 201, posted.text
    incident_id = posted.json()["incident_id"]
    assert incident_id is not None
    incident = (await client.get(f"/api/v1/incidents/{incident_id}", headers=root)).json()
    assert (incident["device_event_id"], incident["kind"], incident["tenant"]) == (
        posted.json()["id"],
        "CAMERA_FACE",
        "default",
    )
    assert incident["title"] == "[AUTO] faceCapture na câmera Cam"


async def test_camera_groups_as_the_front_end_uses_them(client: AsyncTestClient) -> None:
    root = await headers_of(client)
    first = (await client.post(CAMERAS, json={"name": "A", "code": "a"}, headers=root)).json()
    second = (await client.post(CAMERAS, json={"name": "B", "code": "b"}, headers=root)).json()
    created = await client.post(GROUPS, json={"name": "Portões", "description": None}, headers=root)
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["name"], group["device_ids"]) == ("Portões", [])
    path = f"{GROUPS}{group['id']}"
    patched = await client.patch(
        path, json={"device_ids": [second["id"], first["id"]]}, headers=root
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["device_ids"] == [first["id"], second["id"]]
    assert patched.json()["name"] == "Portões"
    listed = (await client.get(GROUPS, headers=root)).json()
    assert [(g["id"], g["device_ids"]) for g in listed] == [
        (group["id"], [first["id"], second["id"]])
    ]
    assert (await client.get(path, headers=root)).json()["device_ids"] == [
        first["id"],
        second["id"],
    ]
    taken = await client.post(GROUPS, json={"name": "Portões"}, headers=root)
    assert (taken.status_code, taken.json()["code"]) == (400, "camera_group_name_taken")
    unknown = await client.patch(path, json={"device_ids": [999999]}, headers=root)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "device_not_found")
    deleted = await client.delete(path, headers=root)
    assert deleted.status_code == 204
    assert (await client.get(path, headers=root)).json()["code"] == "camera_group_not_found"
    assert len((await client.get(CAMERAS, headers=root)).json()) == 2


async def test_admins_manage_cameras_and_everyone_signed_in_reads_them(
    client: AsyncTestClient,
) -> None:
    root = await headers_of(client)
    operator = await headers_of(client, "OPERATOR")
    viewer = await headers_of(client, "VIEWER")
    camera = (await client.post(CAMERAS, json={"name": "Cam", "code": "c1"}, headers=root)).json()
    events = f"{CAMERAS}{camera['id']}/events"
    for headers in (operator, viewer):
        assert (await client.post(CAMERAS, json={"name": "x"}, headers=headers)).status_code == 403
        assert (await client.post(GROUPS, json={"name": "x"}, headers=headers)).status_code == 403
        posted = await client.post(events, json={"analytic_type": "VMD"}, headers=headers)
        assert posted.status_code == 403
        assert (await client.get(CAMERAS, headers=headers)).status_code == 200
        assert (await client.get(events, headers=headers)).status_code == 200
        assert (await client.get(GROUPS, headers=headers)).status_code == 200
    assert (await client.get(CAMERAS)).status_code == 401
    assert (await client.get(events)).status_code == 401


@pytest.fixture
async def publishing(api_client: ClientFactory) -> AsyncIterator[AsyncTestClient]:
    """The API publishing to cam-bus, towards a broker that is not there: requests are
    queued in the outbox all the same."""
    async with api_client(
        RTLS_MQTT_ENABLED="true",
        RTLS_MQTT_HOST="127.0.0.1",
        RTLS_MQTT_PORT=str(free_port()),
        CAMBUS_SHARD_HOSTS="shard-1=media.example.com",
        CAMBUS_HLS_URL_TEMPLATE="http://{host}:8888/{path}/index.m3u8",
    ) as c:
        yield c


async def test_the_stream_modal_starts_and_stops_an_uplink_with_empty_bodies(
    publishing: AsyncTestClient, db: Database
) -> None:
    root = await headers_of(publishing)
    operator = await headers_of(publishing, "OPERATOR")
    camera = (
        await publishing.post(CAMERAS, json={"name": "Cam", "code": "c1"}, headers=root)
    ).json()
    path = f"{CAMERAS}{camera['id']}/uplink"

    started = await publishing.post(f"{path}/start", json={}, headers=operator)
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["status"], body["action"], body["ttl_seconds"]) == ("queued", "start", 300)
    assert body["topic"] == "security-vision/cameras/default/externo/externo/camera/c1/uplink/start"
    assert body["payload"]["centralHost"] == "media.example.com"
    assert body["viewer_urls"] == {
        "srt": "srt://media.example.com:8890?streamid=read:default/externo/c1",
        "webrtc": "https://media.example.com/default/externo/c1/whep",
        "hls": "http://media.example.com:8888/default/externo/c1/index.m3u8",
    }
    assert body["expires_at"] == body["uplink"]["expires_at"]
    assert body["uplink"]["active"] is True
    renewed = await publishing.post(f"{path}/start", json={"ttl_seconds": 60}, headers=operator)
    assert (renewed.json()["renewed"], renewed.json()["ttl_seconds"]) == (True, 60)
    listed = (await publishing.get(CAMERAS, headers=operator)).json()
    assert listed[0]["uplink"]["active"] is True

    stopped = await publishing.post(f"{path}/stop", json={}, headers=operator)
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["action"], stopped.json()["uplink"]["stop_reason"]) == (
        "stop",
        "requested",
    )
    without_body = await publishing.post(f"{path}/stop", headers=operator)
    assert without_body.status_code == 200, without_body.text
    state = (await publishing.get(path, headers=operator)).json()
    assert (state["active"], state["state"]) == (False, None)

    cursor = await db.execute(
        "SELECT destination FROM outbox WHERE destination LIKE '%/uplink/%' ORDER BY id"
    )
    assert [row[0].rsplit("/", 1)[1] for row in await cursor.fetchall()] == [
        "start",
        "start",
        "stop",
        "stop",
    ]


async def test_uplinks_refuse_what_cannot_be_streamed_and_viewers(
    publishing: AsyncTestClient,
) -> None:
    root = await headers_of(publishing)
    viewer = await headers_of(publishing, "VIEWER")
    camera = (
        await publishing.post(
            CAMERAS, json={"name": "Cam", "code": "c1", "shard": "shard-9"}, headers=root
        )
    ).json()
    gateway = (await publishing.post("/api/v1/devices/", json={"name": "GW"}, headers=root)).json()
    start = f"{CAMERAS}{camera['id']}/uplink/start"

    nowhere = await publishing.post(start, json={}, headers=root)
    assert (nowhere.status_code, nowhere.json()["code"]) == (400, "uplink_not_configured")
    too_long = await publishing.post(start, json={"ttl_seconds": 86_401}, headers=root)
    assert too_long.status_code == 422
    assert (await publishing.post(start, json={}, headers=viewer)).status_code == 403
    assert (await publishing.post(start, json={})).status_code == 401
    not_camera = await publishing.post(
        f"{CAMERAS}{gateway['id']}/uplink/start", json={}, headers=root
    )
    assert (not_camera.status_code, not_camera.json()["code"]) == (400, "not_a_camera")
    missing = await publishing.post(f"{CAMERAS}999999/uplink/stop", json={}, headers=root)
    assert (missing.status_code, missing.json()["code"]) == (404, "device_not_found")


async def test_without_mqtt_an_uplink_is_a_clear_503(client: AsyncTestClient) -> None:
    root = await headers_of(client)
    camera = (await client.post(CAMERAS, json={"name": "Cam", "code": "c1"}, headers=root)).json()
    refused = await client.post(f"{CAMERAS}{camera['id']}/uplink/start", json={}, headers=root)
    assert (refused.status_code, refused.json()["code"]) == (409, "cambus_disabled")

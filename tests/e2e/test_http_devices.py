"""Devices, gateways and collection logs over HTTP: the front end's exact bodies, online state
without side effects, deletions with and without history, and the roles."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import login

pytestmark = pytest.mark.postgres

PASSWORD = "member password 1"
Headers = dict[str, str]
Database = psycopg.AsyncConnection[tuple[Any, ...]]


@pytest.fixture
async def db(migrated_database_url: str) -> AsyncIterator[Database]:
    """Direct SQL for what no route of this issue writes: sites, worker state, unknown tags."""
    async with await psycopg.AsyncConnection.connect(
        migrated_database_url, autocommit=True
    ) as conn:
        yield conn


async def user_headers(client: AsyncTestClient, root: Headers, email: str, role: str) -> Headers:
    body = {"email": email, "password": PASSWORD, "role": role}
    response = await client.post("/api/v1/users/", json=body, headers=root)
    assert response.status_code == 201, response.text
    return await login(client, email, PASSWORD)


async def post(
    client: AsyncTestClient, path: str, body: object, headers: Headers
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def floor_plan(db: Database) -> tuple[int, int, int]:
    """A building, one of its floors and a plan of that floor: (building, floor, plan) ids."""
    cursor = await db.execute(
        "WITH b AS (INSERT INTO buildings (name, code) VALUES ('Tower A', 'TOWER_A') RETURNING id),"
        " f AS (INSERT INTO floors (building_id, name) SELECT id, 'Ground' FROM b RETURNING id,"
        " building_id),"
        " p AS (INSERT INTO floor_plans (floor_id, name) SELECT id, 'Ground_01' FROM f"
        " RETURNING id, floor_id)"
        " SELECT f.building_id, f.id, p.id FROM f, p"
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def reading(
    client: AsyncTestClient, headers: Headers, device: int, tag: int, **extra: object
) -> dict[str, Any]:
    body = {"device_id": device, "tag_id": tag, "rssi": -60} | extra
    return await post(client, "/api/v1/collection-logs/", body, headers)


async def test_the_front_ends_floor_plan_editor_bodies_change_only_what_they_send(
    client: AsyncTestClient, root_headers: Headers, db: Database
) -> None:
    building, floor, plan = await floor_plan(db)
    gateway = await post(
        client,
        "/api/v1/devices/",
        {"name": "Gateway 1", "mac_address": "aa-bb-cc-00-00-01", "code": "GW_1"},
        root_headers,
    )
    path = f"/api/v1/devices/{gateway['id']}"
    dragged = await client.put(
        path, json={"floor_plan_id": plan, "pos_x": 0.42, "pos_y": 0.17}, headers=root_headers
    )
    assert dragged.status_code == 200
    # A bare drag places the device on the plan's floor and building too.
    assert dragged.json() == gateway | {
        "floor_plan_id": plan,
        "floor_id": floor,
        "building_id": building,
        "pos_x": 0.42,
        "pos_y": 0.17,
        "updated_at": dragged.json()["updated_at"],
    }
    moved = await client.put(
        path,
        json={"floor_plan_id": plan, "floor_id": floor, "pos_x": 0.5, "pos_y": 0.5},
        headers=root_headers,
    )
    assert (moved.json()["floor_id"], moved.json()["pos_x"]) == (floor, 0.5)
    renamed = await client.put(path, json={"name": "Lobby"}, headers=root_headers)
    assert (renamed.json()["name"], renamed.json()["floor_plan_id"]) == ("Lobby", plan)
    removed = await client.put(
        path, json={"floor_plan_id": None, "pos_x": None, "pos_y": None}, headers=root_headers
    )
    body = removed.json()
    assert (body["floor_plan_id"], body["pos_x"], body["pos_y"]) == (None, None, None)
    assert (body["name"], body["floor_id"], body["code"]) == ("Lobby", floor, "GW_1")
    listed = (await client.get("/api/v1/devices/", headers=root_headers)).json()
    assert {
        "id",
        "name",
        "type",
        "mac_address",
        "floor_plan_id",
        "pos_x",
        "pos_y",
        "last_seen_at",
    } <= set(listed[0])
    assert listed[0]["mac_address"] == "AA:BB:CC:00:00:01"
    assert building > 0


async def test_position_is_patched_and_placements_must_name_existing_sites(
    client: AsyncTestClient, root_headers: Headers, db: Database
) -> None:
    _, _, plan = await floor_plan(db)
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    path = f"/api/v1/devices/{gateway['id']}"
    placed = await client.patch(
        f"{path}/position",
        json={"floor_plan_id": plan, "pos_x": 10.0, "pos_y": 20.0},
        headers=root_headers,
    )
    assert placed.status_code == 200
    assert (placed.json()["floor_plan_id"], placed.json()["pos_x"]) == (plan, 10.0)
    for field, code in [
        ("floor_plan_id", "floor_plan_not_found"),
        ("building_id", "building_not_found"),
        ("floor_id", "floor_not_found"),
        ("location_id", "location_not_found"),
    ]:
        response = await client.put(path, json={field: 987654}, headers=root_headers)
        assert (response.status_code, response.json()["code"]) == (404, code)
    missing = await client.put("/api/v1/devices/987654", json={"name": "x"}, headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "device_not_found")


async def test_every_device_field_round_trips_and_the_password_is_never_kept(
    client: AsyncTestClient, root_headers: Headers, db: Database
) -> None:
    body = {
        "name": "Portaria",
        "type": "CAMERA",
        "code": "fixa01",
        "ip_address": "10.0.0.10",
        "port": 80,
        "username": "admin",
        "password": "secret",
        "manufacturer": "Hikvision",
        "model": "any",
        "rtsp_url": "rtsp://10.0.0.10:554/Streaming/Channels/101",
        "central_media_mtx_ip": "mtx.example.com",
        "central_path": "predio_a/terreo/fixa01",
        "proxy_path": "predio_a/terreo/fixa01",
        "tenant": "default",
        "shard": "shard-1",
        "record_retention_minutes": 0,
        "analytics": ["faceCapture", "VMD"],
    }
    created = await post(client, "/api/v1/devices/", body, root_headers)
    expected = {k: v for k, v in body.items() if k != "password"}
    assert {k: created[k] for k in expected} == expected
    assert "password" not in created
    fetched = await client.get(f"/api/v1/devices/{created['id']}", headers=root_headers)
    assert fetched.json() == created
    await client.put(
        f"/api/v1/devices/{created['id']}", json={"password": "other"}, headers=root_headers
    )
    cursor = await db.execute("SELECT count(*) FROM devices WHERE password_encrypted IS NOT NULL")
    assert await cursor.fetchone() == (0,)


async def test_device_codes_and_macs_are_unique_as_the_original_answered(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    await post(
        client,
        "/api/v1/devices/",
        {"name": "A", "code": "GW_1", "mac_address": "112233445566"},
        root_headers,
    )
    await post(client, "/api/v1/devices/", {"name": "B", "code": ""}, root_headers)
    await post(client, "/api/v1/devices/", {"name": "C", "code": ""}, root_headers)
    for body, code in [
        ({"name": "D", "code": "GW_1"}, "device_code_taken"),
        ({"name": "E", "mac_address": "11:22:33:44:55:66"}, "device_mac_taken"),
    ]:
        response = await client.post("/api/v1/devices/", json=body, headers=root_headers)
        assert (response.status_code, response.json()["code"]) == (400, code)
    bad_type = await client.post(
        "/api/v1/devices/", json={"name": "F", "type": "TOASTER"}, headers=root_headers
    )
    assert (bad_type.status_code, bad_type.json()["code"]) == (422, "validation_error")


async def test_status_reports_every_device_online_or_not_and_changes_nothing(
    client: AsyncTestClient, root_headers: Headers, db: Database
) -> None:
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO devices (name, type, mac_address, last_seen_at, reported_online)"
        " SELECT 'gw ' || i, 'BLE_GATEWAY', NULL, %s - make_interval(hours => i), true"
        " FROM generate_series(1, 120) AS i",
        [now],
    )
    recent = await post(
        client,
        "/api/v1/devices/",
        {"name": "recent", "mac_address": "11:22:33:44:55:66", "last_seen_at": now.isoformat()},
        root_headers,
    )
    said_offline = await post(
        client,
        "/api/v1/devices/",
        {"name": "said offline", "last_seen_at": now.isoformat()},
        root_headers,
    )
    camera = await post(
        client,
        "/api/v1/devices/",
        {
            "name": "cam",
            "type": "CAMERA",
            "last_seen_at": (now - timedelta(seconds=30)).isoformat(),
        },
        root_headers,
    )
    await db.execute(
        "UPDATE devices SET reported_online = false WHERE id = %s", [said_offline["id"]]
    )
    snapshot = "SELECT to_jsonb(d) FROM devices d ORDER BY id"
    before = await (await db.execute(snapshot)).fetchall()
    events_before = await (await db.execute("SELECT count(*) FROM device_status_events")).fetchone()

    everything = await client.get("/api/v1/devices/status", headers=root_headers)
    gateways = await client.get("/api/v1/devices/status?only_gateways=true", headers=root_headers)

    assert everything.status_code == gateways.status_code == 200
    assert len(everything.json()) == 123
    by_id = {s["id"]: s for s in gateways.json()}
    assert len(by_id) == 122
    assert camera["id"] not in by_id
    assert by_id[recent["id"]] == {
        "id": recent["id"],
        "name": "recent",
        "type": "BLE_GATEWAY",
        "mac_address": "11:22:33:44:55:66",
        "ip_address": None,
        "building_id": None,
        "floor_id": None,
        "last_seen_at": recent["last_seen_at"],
        "is_online": True,
    }
    assert by_id[said_offline["id"]]["is_online"] is False
    assert [s["name"] for s in gateways.json() if s["is_online"]] == ["recent"]
    camera_status = next(s for s in everything.json() if s["id"] == camera["id"])
    assert camera_status["is_online"] is True
    assert await (await db.execute(snapshot)).fetchall() == before
    assert await (await db.execute("SELECT count(*) FROM device_status_events")).fetchone() == (
        events_before
    )


async def test_gateway_routes_list_and_report_only_gateways(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    await post(client, "/api/v1/devices/", {"name": "cam", "type": "CAMERA"}, root_headers)
    listed = await client.get("/api/v1/devices/gateways/", headers=root_headers)
    assert [d["id"] for d in listed.json()] == [gateway["id"]]
    status = await client.get("/api/v1/devices/gateways/status", headers=root_headers)
    assert [(s["id"], s["is_online"]) for s in status.json()] == [(gateway["id"], False)]


async def test_a_gateway_with_history_is_deleted_only_with_purge_related(
    client: AsyncTestClient, root_headers: Headers, db: Database
) -> None:
    gateway = await post(
        client,
        "/api/v1/devices/",
        {"name": "GW", "mac_address": "11:22:33:44:55:66"},
        root_headers,
    )
    other = await post(client, "/api/v1/devices/", {"name": "GW 2"}, root_headers)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    await reading(client, root_headers, gateway["id"], tag["id"])
    await reading(client, root_headers, gateway["id"], tag["id"], created_at="2026-01-01T10:00:00Z")
    kept = await reading(client, root_headers, other["id"], tag["id"])
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO unknown_tags (mac_address, last_device_id, first_seen_at, last_seen_at)"
        " VALUES ('AA:AA:AA:AA:AA:01', %s, %s, %s)",
        [gateway["id"], now, now],
    )
    await db.execute(
        "INSERT INTO device_status_events (device_id, online, occurred_at) VALUES (%s, true, %s)",
        [gateway["id"], now],
    )

    refused = await client.delete(f"/api/v1/devices/gateways/{gateway['id']}", headers=root_headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "device_has_history")
    purged = await client.delete(
        "/api/v1/devices/gateways/by-mac/11-22-33-44-55-66?delete_all_matches=true&purge_related=true",
        headers=root_headers,
    )
    assert purged.status_code == 200
    assert purged.json() == {"deleted_device_ids": [gateway["id"]], "readings_deleted": 2}

    logs = (await client.get("/api/v1/collection-logs/", headers=root_headers)).json()
    assert [log["id"] for log in logs] == [kept["id"]]
    unknown = (await client.get("/api/v1/tags/unknown", headers=root_headers)).json()
    assert unknown[0]["last_device_id"] is None
    events = await (await db.execute("SELECT count(*) FROM device_status_events")).fetchone()
    assert events == (0,)
    gone = await client.get(f"/api/v1/devices/{gateway['id']}", headers=root_headers)
    assert gone.status_code == 404


async def test_gateway_deletes_refuse_other_devices_and_unknown_macs(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    camera = await post(
        client,
        "/api/v1/devices/",
        {"name": "cam", "type": "CAMERA", "mac_address": "11:22:33:44:55:66"},
        root_headers,
    )
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    by_id = await client.delete(f"/api/v1/devices/gateways/{camera['id']}", headers=root_headers)
    by_mac = await client.delete(
        "/api/v1/devices/gateways/by-mac/112233445566", headers=root_headers
    )
    nobody = await client.delete(
        "/api/v1/devices/gateways/by-mac/11:22:33:44:55:00", headers=root_headers
    )
    assert (by_id.status_code, by_id.json()["code"]) == (400, "not_a_gateway")
    assert (by_mac.status_code, by_mac.json()["code"]) == (400, "not_a_gateway")
    assert (nobody.status_code, nobody.json()["code"]) == (404, "gateway_not_found")
    plain = await client.delete(f"/api/v1/devices/gateways/{gateway['id']}", headers=root_headers)
    assert plain.json() == {"deleted_device_ids": [gateway["id"]], "readings_deleted": 0}


async def test_deleting_a_device_answers_204_and_keeps_history_unless_purged(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    camera = await post(client, "/api/v1/devices/", {"name": "cam", "type": "CAMERA"}, root_headers)
    assert (
        await client.delete(f"/api/v1/devices/{camera['id']}", headers=root_headers)
    ).status_code == 204
    again = await client.delete(f"/api/v1/devices/{camera['id']}", headers=root_headers)
    assert (again.status_code, again.json()["code"]) == (404, "device_not_found")
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    await reading(client, root_headers, gateway["id"], tag["id"])
    path = f"/api/v1/devices/{gateway['id']}"
    assert (await client.delete(path, headers=root_headers)).status_code == 409
    assert (
        await client.delete(f"{path}?purge_related=true", headers=root_headers)
    ).status_code == 204


async def test_operators_read_devices_but_only_admins_write_them_and_readings(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    admin = await user_headers(client, root_headers, "admin@example.com", "ADMIN")
    operator = await user_headers(client, root_headers, "op@example.com", "OPERATOR")
    viewer = await user_headers(client, root_headers, "viewer@example.com", "VIEWER")
    device = await post(client, "/api/v1/devices/", {"name": "GW"}, admin)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, operator)
    path = f"/api/v1/devices/{device['id']}"
    for headers in (operator, viewer):
        for read in [
            "/api/v1/devices/",
            path,
            "/api/v1/devices/status",
            "/api/v1/collection-logs/",
        ]:
            assert (await client.get(read, headers=headers)).status_code == 200, read
        writes = [
            client.post("/api/v1/devices/", json={"name": "x"}, headers=headers),
            client.put(path, json={"name": "x"}, headers=headers),
            client.patch(f"{path}/position", json={"pos_x": 1.0}, headers=headers),
            client.delete(path, headers=headers),
            client.delete(f"/api/v1/devices/gateways/{device['id']}", headers=headers),
            client.post(
                "/api/v1/collection-logs/",
                json={"device_id": device["id"], "tag_id": tag["id"], "rssi": -60},
                headers=headers,
            ),
        ]
        for write in writes:
            assert (await write).status_code == 403
    assert (await client.get(path, headers=root_headers)).json()["name"] == "GW"


async def test_collection_logs_crud_with_the_originals_fields(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    created = await reading(client, root_headers, gateway["id"], tag["id"], raw_payload='{"a":1}')
    assert set(created) == {
        "id",
        "device_id",
        "tag_id",
        "rssi",
        "raw_payload",
        "created_at",
        "received_at",
    }
    path = f"/api/v1/collection-logs/{created['id']}"
    assert (await client.get(path, headers=root_headers)).json() == created
    assert (await client.delete(path, headers=root_headers)).status_code == 204
    gone = await client.get(path, headers=root_headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "collection_log_not_found")


async def test_collection_log_filters_apply_before_pagination_newest_first(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    other = await post(client, "/api/v1/devices/", {"name": "GW 2"}, root_headers)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    times = [f"2026-03-0{d}T12:00:00Z" for d in range(1, 5)]
    mine = [
        await reading(client, root_headers, gateway["id"], tag["id"], created_at=at) for at in times
    ]
    for at in times:
        await reading(client, root_headers, other["id"], tag["id"], created_at=at)
    base = "/api/v1/collection-logs/"
    first = await client.get(f"{base}?device_id={gateway['id']}&limit=1", headers=root_headers)
    assert [r["id"] for r in first.json()] == [mine[3]["id"]]
    window = await client.get(
        f"{base}?device_id={gateway['id']}&from_ts=2026-03-02T12:00:00Z&to_ts=2026-03-03T12:00:00",
        headers=root_headers,
    )
    assert [r["id"] for r in window.json()] == [mine[2]["id"], mine[1]["id"]]
    by_tag = await client.get(f"{base}?tag_id={tag['id']}&skip=6", headers=root_headers)
    assert [r["created_at"] for r in by_tag.json()] == ["2026-03-01T12:00:00Z"] * 2
    too_many = await client.get(f"{base}?limit=1001", headers=root_headers)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "validation_error")


async def test_a_reading_entered_by_hand_is_checked_first(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    good = {"device_id": gateway["id"], "tag_id": tag["id"], "rssi": -60}
    for change, status, code in [
        ({"raw_payload": "x" * 4097}, 422, "raw_payload_too_long"),
        ({"rssi": 99}, 422, "invalid_rssi"),
        ({"device_id": 98765}, 404, "device_not_found"),
        ({"tag_id": 98765}, 404, "tag_not_found"),
    ]:
        response = await client.post(
            "/api/v1/collection-logs/", json=good | change, headers=root_headers
        )
        assert (response.status_code, response.json()["code"]) == (status, code)
    at = {"created_at": "2026-02-02T02:02:02Z"}
    await post(client, "/api/v1/collection-logs/", good | at, root_headers)
    twice = await client.post("/api/v1/collection-logs/", json=good | at, headers=root_headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "reading_exists")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/devices/",
        "/api/v1/devices",
        "/api/v1/devices/status",
        "/api/v1/devices/status?only_gateways=true",
        "/api/v1/devices/gateways/",
        "/api/v1/devices/gateways",
        "/api/v1/devices/gateways/status",
        "/api/v1/collection-logs/",
        "/api/v1/collection-logs",
    ],
)
async def test_device_and_log_collections_answer_in_every_form_without_redirect(
    client: AsyncTestClient, root_headers: Headers, path: str
) -> None:
    response = await client.get(path, headers=root_headers)
    assert response.status_code == 200
    assert response.json() == []

"""Positions over HTTP, in the shape of the original's own position tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.postgres

Client = AsyncTestClient


async def post(client: Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, (path, response.text)
    return response.json()


async def topology(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    """Building → floor → plan with two placed gateways, and a person wearing a tag."""
    building = await post(client, "/api/v1/buildings/", {"name": "Torre A", "code": "TA"}, headers)
    floor = await post(
        client, "/api/v1/floors/", {"name": "Terreo", "building_id": building["id"]}, headers
    )
    plan = await post(
        client,
        "/api/v1/floor-plans/",
        {"name": "Terreo_01", "floor_id": floor["id"], "image_url": "/media/floor_plans/x.png"},
        headers,
    )
    gateways = [
        await post(
            client,
            "/api/v1/devices/",
            {
                "name": f"GW {i}",
                "type": "BLE_GATEWAY",
                "mac_address": f"AA:BB:CC:DD:EE:0{i}",
                "floor_plan_id": plan["id"],
                "pos_x": 0.25 * i,
                "pos_y": 0.5,
            },
            headers,
        )
        for i in (1, 2)
    ]
    person = await post(client, "/api/v1/people/", {"full_name": "Ana Lima"}, headers)
    tag = await post(
        client,
        "/api/v1/tags/",
        {"mac_address": "11:22:33:44:55:66", "person_id": person["id"], "is_active": True},
        headers,
    )
    return {
        "building": building,
        "floor": floor,
        "plan": plan,
        "gateways": gateways,
        "person": person,
        "tag": tag,
    }


async def read(
    client: Client,
    headers: dict[str, str],
    world: dict[str, Any],
    reading: tuple[int, int, datetime],
) -> None:
    """Post one reading ``(gateway index, rssi, time)`` as POST /collection-logs does."""
    gateway, rssi, at = reading
    await post(
        client,
        "/api/v1/collection-logs/",
        {
            "device_id": world["gateways"][gateway]["id"],
            "tag_id": world["tag"]["id"],
            "rssi": rssi,
            "created_at": at.isoformat(),
        },
        headers,
    )


async def test_a_reading_puts_the_person_at_the_gateway_on_the_map(
    client: Client, root_headers: dict[str, str]
) -> None:
    world = await topology(client, root_headers)
    await read(client, root_headers, world, (0, -60, datetime.now(UTC)))

    location = await client.get(
        f"/api/v1/people/{world['person']['id']}/current-location", headers=root_headers
    )
    assert location.status_code == 200, location.text
    body = location.json()
    assert body["person_id"] == world["person"]["id"]
    assert body["tag_mac_address"] == "11:22:33:44:55:66"
    assert body["device_id"] == world["gateways"][0]["id"]
    assert (body["floor_plan_id"], body["floor_id"], body["building_id"]) == (
        world["plan"]["id"],
        world["floor"]["id"],
        world["building"]["id"],
    )

    current = await client.get(
        f"/api/v1/positions/current?floor_plan_id={world['plan']['id']}", headers=root_headers
    )
    [item] = current.json()
    assert item["floor_plan_image_url"] == "/media/floor_plans/x.png"
    assert (item["device_pos_x"], item["device_pos_y"]) == (0.25, 0.5)
    assert item["confidence"] == 1.0

    by_device = await client.get(
        f"/api/v1/positions/by-device?floor_plan_id={world['plan']['id']}&only_active_people=true",
        headers=root_headers,
    )
    [device] = by_device.json()
    assert device["device_id"] == world["gateways"][0]["id"]
    assert [p["person_full_name"] for p in device["people"]] == ["Ana Lima"]


async def test_a_clearly_stronger_gateway_takes_the_person_over(
    client: Client, root_headers: dict[str, str]
) -> None:
    world = await topology(client, root_headers)
    start = datetime.now(UTC) - timedelta(seconds=5)
    await read(client, root_headers, world, (0, -70, start))
    # Stronger, but not by the hysteresis margin: the tag stays where it is.
    await read(client, root_headers, world, (1, -68, start + timedelta(seconds=1)))
    current = (await client.get("/api/v1/positions/current", headers=root_headers)).json()
    assert current[0]["device_id"] == world["gateways"][0]["id"]
    for i in range(2, 5):
        await read(client, root_headers, world, (1, -50, start + timedelta(seconds=i)))
    current = (await client.get("/api/v1/positions/current", headers=root_headers)).json()
    assert current[0]["device_id"] == world["gateways"][1]["id"]
    assert 0.5 < current[0]["confidence"] < 1.0


async def test_stale_positions_expire_unless_asked_for_all(
    client: Client, root_headers: dict[str, str]
) -> None:
    world = await topology(client, root_headers)
    await read(client, root_headers, world, (0, -60, datetime.now(UTC) - timedelta(minutes=5)))
    fresh = await client.get("/api/v1/positions/current", headers=root_headers)
    assert fresh.json() == []
    everything = await client.get(
        "/api/v1/positions/current?max_age_seconds=0", headers=root_headers
    )
    assert len(everything.json()) == 1
    too_old = await client.get(
        "/api/v1/positions/current?max_age_seconds=999999", headers=root_headers
    )
    assert too_old.status_code in (400, 422)


async def test_a_person_never_heard_or_unknown_gets_a_404_that_says_which(
    client: Client, root_headers: dict[str, str]
) -> None:
    world = await topology(client, root_headers)
    never = await client.get(
        f"/api/v1/people/{world['person']['id']}/current-location", headers=root_headers
    )
    assert (never.status_code, never.json()["code"]) == (404, "no_position")
    nobody = await client.get("/api/v1/people/999999/current-location", headers=root_headers)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "person_not_found")


async def test_the_reading_also_opens_a_presence_session(
    client: Client, root_headers: dict[str, str], migrated_database_url: str
) -> None:
    world = await topology(client, root_headers)
    now = datetime.now(UTC)
    await read(client, root_headers, world, (0, -60, now - timedelta(seconds=10)))
    await read(client, root_headers, world, (0, -62, now))
    async with await psycopg.AsyncConnection.connect(migrated_database_url) as conn:
        cursor = await conn.execute("SELECT samples_count, duration_seconds FROM presence_sessions")
        assert await cursor.fetchall() == [(2, 10.0)]

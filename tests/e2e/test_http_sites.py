"""Buildings, floors, floor plans, locations and device users over HTTP: the original's CRUD
tests, the front end's exact bodies, deletions that keep devices, and the roles."""

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import login

pytestmark = pytest.mark.postgres

PASSWORD = "member password 1"
Headers = dict[str, str]


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


async def topology(client: AsyncTestClient, headers: Headers, code: str = "TOWER_A") -> Any:
    """Building, floor and plan as the front end creates them: (building, floor, plan)."""
    building = await post(
        client,
        "/api/v1/buildings/",
        {"name": code.title(), "code": code, "description": "", "address": ""},
        headers,
    )
    floor = await post(
        client,
        "/api/v1/floors/",
        {"name": "Ground", "building_id": building["id"], "level": None},
        headers,
    )
    plan = await post(
        client, "/api/v1/floor-plans/", {"name": "Ground_01", "floor_id": floor["id"]}, headers
    )
    return building, floor, plan


async def test_buildings_as_the_originals_own_crud_test(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    body = {"name": "Building A", "code": "BLD_A", "description": "HQ"}
    created = await post(client, "/api/v1/buildings/", body, root_headers)
    assert {k: created[k] for k in body} == body
    listed = await client.get("/api/v1/buildings/", headers=root_headers)
    assert "BLD_A" in [b["code"] for b in listed.json()]
    path = f"/api/v1/buildings/{created['id']}"
    assert (await client.get(path, headers=root_headers)).json() == created
    updated = await client.put(path, json={"description": "Head office"}, headers=root_headers)
    assert updated.status_code == 200
    assert (updated.json()["description"], updated.json()["name"]) == ("Head office", "Building A")
    deleted = await client.delete(path, headers=root_headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    missing = await client.get(path, headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "building_not_found")


async def test_floor_plan_devices_as_the_originals_own_test(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    _, floor, plan = await topology(client, root_headers)
    for mac in ("AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"):
        await post(
            client,
            "/api/v1/devices/",
            {"name": f"GW {mac}", "mac_address": mac, "floor_plan_id": plan["id"]},
            root_headers,
        )
    found = await client.get(f"/api/v1/floor-plans/{plan['id']}/devices", headers=root_headers)
    assert found.status_code == 200
    assert [d["mac_address"] for d in found.json()] == ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"]
    assert {d["floor_id"] for d in found.json()} == {floor["id"]}


async def test_every_device_on_a_plan_is_listed_not_only_those_of_a_first_page(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    _, _, plan = await topology(client, root_headers)
    for i in range(101):
        await post(client, "/api/v1/devices/", {"name": f"elsewhere {i}"}, root_headers)
    on_plan = [
        await post(
            client,
            "/api/v1/devices/",
            {"name": f"on {i}", "floor_plan_id": plan["id"]},
            root_headers,
        )
        for i in range(2)
    ]
    found = await client.get(f"/api/v1/floor-plans/{plan['id']}/devices", headers=root_headers)
    assert [d["id"] for d in found.json()] == [d["id"] for d in on_plan]
    missing = await client.get("/api/v1/floor-plans/987654/devices", headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "floor_plan_not_found")


async def test_the_front_ends_site_pages_read_what_they_need(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    building, floor, plan = await topology(client, root_headers)
    buildings = (await client.get("/api/v1/buildings/", headers=root_headers)).json()
    assert {"id", "name", "code", "description", "address"} <= set(buildings[0])
    assert (buildings[0]["description"], buildings[0]["address"]) == ("", "")
    floors = (await client.get("/api/v1/floors/", headers=root_headers)).json()
    assert {"id", "name", "building_id", "level", "code"} <= set(floors[0])
    assert (floors[0]["level"], floors[0]["code"]) == (None, None)
    plans = (await client.get("/api/v1/floor-plans/", headers=root_headers)).json()
    assert {"id", "name", "floor_id", "image_url", "building_id", "image_file_name"} <= set(
        plans[0]
    )
    assert (plans[0]["floor_id"], plans[0]["building_id"]) == (floor["id"], building["id"])
    typed = await client.put(
        f"/api/v1/floor-plans/{plan['id']}",
        json={"image_url": "https://cdn.example.com/ground.png"},
        headers=root_headers,
    )
    assert typed.status_code == 200
    assert typed.json() == plan | {
        "image_url": "https://cdn.example.com/ground.png",
        "updated_at": typed.json()["updated_at"],
    }
    dashboard = await client.get(
        f"/api/v1/buildings/{building['id']}/floor-plans", headers=root_headers
    )
    assert [(p["id"], p["image_url"], p["image_file_name"]) for p in dashboard.json()] == [
        (plan["id"], "https://cdn.example.com/ground.png", None)
    ]
    bad = await client.put(
        f"/api/v1/floor-plans/{plan['id']}",
        json={"image_url": "javascript:alert(1)"},
        headers=root_headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_image_url")


async def test_site_collections_answer_with_and_without_the_slash_without_redirect(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    building, _, _ = await topology(client, root_headers)
    for path in (
        "/api/v1/buildings",
        "/api/v1/buildings/",
        "/api/v1/floors",
        "/api/v1/floor-plans/",
        "/api/v1/locations/",
        "/api/v1/device-users/",
        f"/api/v1/buildings/{building['id']}/floor-plans",
        f"/api/v1/buildings/{building['id']}/floor-plans/",
    ):
        response = await client.get(path, headers=root_headers, follow_redirects=False)
        assert response.status_code == 200, path


async def test_building_codes_are_unique_found_by_code_and_fit_for_topics(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    building, _, _ = await topology(client, root_headers)
    found = await client.get("/api/v1/buildings/by-code/TOWER_A", headers=root_headers)
    assert found.json()["id"] == building["id"]
    missing = await client.get("/api/v1/buildings/by-code/NOPE", headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "building_not_found")
    for body, status, code in [
        ({"name": "Again", "code": "TOWER_A"}, 400, "building_code_taken"),
        ({"name": "Slash", "code": "A/B"}, 422, "invalid_code"),
        ({"name": "No code"}, 422, "validation_error"),
    ]:
        response = await client.post("/api/v1/buildings/", json=body, headers=root_headers)
        assert (response.status_code, response.json()["code"]) == (status, code)
    orphan = await client.post(
        "/api/v1/floors/", json={"name": "F", "building_id": 987654}, headers=root_headers
    )
    assert (orphan.status_code, orphan.json()["code"]) == (404, "building_not_found")


async def test_deleting_sites_takes_devices_off_them_and_keeps_the_devices_and_readings(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    building, floor, plan = await topology(client, root_headers)
    gateway = await post(
        client,
        "/api/v1/devices/",
        {"name": "GW", "floor_plan_id": plan["id"], "pos_x": 0.5, "pos_y": 0.5},
        root_headers,
    )
    tag = await post(client, "/api/v1/tags/", {"mac_address": "11:22:33:44:55:66"}, root_headers)
    await post(
        client,
        "/api/v1/collection-logs/",
        {"device_id": gateway["id"], "tag_id": tag["id"], "rssi": -60},
        root_headers,
    )
    device_path = f"/api/v1/devices/{gateway['id']}"
    deleted = await client.delete(f"/api/v1/floor-plans/{plan['id']}", headers=root_headers)
    assert deleted.status_code == 204
    after_plan = (await client.get(device_path, headers=root_headers)).json()
    assert (after_plan["floor_plan_id"], after_plan["pos_x"], after_plan["floor_id"]) == (
        None,
        None,
        floor["id"],
    )
    deleted = await client.delete(f"/api/v1/buildings/{building['id']}", headers=root_headers)
    assert deleted.status_code == 204
    after = (await client.get(device_path, headers=root_headers)).json()
    assert (after["building_id"], after["floor_id"], after["floor_plan_id"]) == (None, None, None)
    floor_gone = await client.get(f"/api/v1/floors/{floor['id']}", headers=root_headers)
    assert (floor_gone.status_code, floor_gone.json()["code"]) == (404, "floor_not_found")
    readings = await client.get(
        f"/api/v1/collection-logs/?device_id={gateway['id']}", headers=root_headers
    )
    assert len(readings.json()) == 1


async def test_moving_a_device_onto_a_plan_sets_its_floor_and_building(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    building, floor, plan = await topology(client, root_headers)
    other_building, other_floor, other_plan = await topology(client, root_headers, "TOWER_B")
    gateway = await post(client, "/api/v1/devices/", {"name": "GW"}, root_headers)
    path = f"/api/v1/devices/{gateway['id']}"
    dragged = await client.patch(
        f"{path}/position",
        json={"floor_plan_id": plan["id"], "pos_x": 0.1, "pos_y": 0.9},
        headers=root_headers,
    )
    assert (dragged.json()["floor_id"], dragged.json()["building_id"]) == (
        floor["id"],
        building["id"],
    )
    moved = await client.put(
        path,
        json={
            "floor_plan_id": other_plan["id"],
            "floor_id": other_floor["id"],
            "pos_x": 0.5,
            "pos_y": 0.5,
        },
        headers=root_headers,
    )
    assert moved.status_code == 200
    assert (moved.json()["floor_id"], moved.json()["building_id"]) == (
        other_floor["id"],
        other_building["id"],
    )
    contradicting = await client.put(
        path,
        json={"floor_plan_id": plan["id"], "floor_id": other_floor["id"]},
        headers=root_headers,
    )
    assert (contradicting.status_code, contradicting.json()["code"]) == (422, "placement_mismatch")


async def test_locations_with_floors_and_rules_as_the_original_served_them(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    _, floor, _ = await topology(client, root_headers)
    missing_floor = await client.post(
        "/api/v1/locations/", json={"name": "Lobby", "floor_ids": [987654]}, headers=root_headers
    )
    assert (missing_floor.status_code, missing_floor.json()["code"]) == (404, "floor_not_found")
    location = await post(
        client,
        "/api/v1/locations/",
        {"name": "Lobby", "description": "ground hall", "floor_ids": [floor["id"]]},
        root_headers,
    )
    assert (location["status"], location["floor_ids"]) == ("ACTIVE", [floor["id"]])
    path = f"/api/v1/locations/{location['id']}"
    renamed = await client.put(path, json={"name": "Hall"}, headers=root_headers)
    assert (renamed.json()["name"], renamed.json()["floor_ids"]) == ("Hall", [floor["id"]])
    rule_body = {
        "location_id": location["id"],
        "capacity": 20,
        "avaliable_days": "1,2,3,4,5",
        "start_time": "08:00:00",
        "end_time": "18:00:00",
        "status": "ACTIVE",
    }
    mismatch = await client.post(
        f"/api/v1/locations/{location['id'] + 1}/rules", json=rule_body, headers=root_headers
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "location_id_mismatch")
    rule = await post(client, f"{path}/rules", rule_body, root_headers)
    assert {k: rule[k] for k in rule_body} == rule_body
    assert rule["validate"] is True
    rules = await client.get(f"{path}/rules", headers=root_headers)
    assert [r["id"] for r in rules.json()] == [rule["id"]]
    rule_path = f"/api/v1/locations/rules/{rule['id']}"
    changed = await client.put(rule_path, json={"capacity": 5}, headers=root_headers)
    assert (changed.json()["capacity"], changed.json()["avaliable_days"]) == (5, "1,2,3,4,5")
    assert (await client.delete(rule_path, headers=root_headers)).status_code == 204
    gone = await client.put(rule_path, json={"capacity": 1}, headers=root_headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "location_rule_not_found")
    assert (await client.delete(path, headers=root_headers)).status_code == 204
    missing = await client.get(path, headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "location_not_found")


async def test_device_users_crud_with_filters_applied_before_paging(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    doors = [
        await post(
            client,
            "/api/v1/devices/",
            {"name": f"Door {i}", "type": "ACCESS_CONTROLLER"},
            root_headers,
        )
        for i in range(2)
    ]
    people = [
        await post(client, "/api/v1/people/", {"full_name": name}, root_headers)
        for name in ("Ana", "Bia")
    ]
    users = [
        await post(
            client,
            "/api/v1/device-users/",
            {"device_id": d["id"], "person_id": p["id"], "device_user_id": 100 + i},
            root_headers,
        )
        for i, (d, p) in enumerate((d, p) for d in doors for p in people)
    ]
    assert (users[0]["device_user_id"], users[0]["status"]) == ("100", "ACTIVE")
    second_door = await client.get(
        f"/api/v1/device-users/?device_id={doors[1]['id']}&limit=1", headers=root_headers
    )
    assert [u["id"] for u in second_door.json()] == [users[2]["id"]]
    bia = await client.get(
        f"/api/v1/device-users/?person_id={people[1]['id']}&skip=1", headers=root_headers
    )
    assert [u["id"] for u in bia.json()] == [users[3]["id"]]
    taken = await client.post(
        "/api/v1/device-users/",
        json={"device_id": doors[0]["id"], "person_id": people[1]["id"], "device_user_id": "100"},
        headers=root_headers,
    )
    assert (taken.status_code, taken.json()["code"]) == (400, "device_user_id_taken")
    for body, code in [
        ({"device_id": 987654, "person_id": people[0]["id"]}, "device_not_found"),
        ({"device_id": doors[0]["id"], "person_id": 987654}, "person_not_found"),
    ]:
        response = await client.post("/api/v1/device-users/", json=body, headers=root_headers)
        assert (response.status_code, response.json()["code"]) == (404, code)
    path = f"/api/v1/device-users/{users[0]['id']}"
    blocked = await client.put(path, json={"status": "BLOCKED"}, headers=root_headers)
    assert blocked.json() == users[0] | {
        "status": "BLOCKED",
        "updated_at": blocked.json()["updated_at"],
    }
    assert (await client.delete(path, headers=root_headers)).status_code == 204
    missing = await client.get(path, headers=root_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "device_user_not_found")


async def test_everyone_signed_in_reads_sites_but_only_admins_write_them(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    admin = await user_headers(client, root_headers, "admin@example.com", "ADMIN")
    operator = await user_headers(client, root_headers, "op@example.com", "OPERATOR")
    viewer = await user_headers(client, root_headers, "viewer@example.com", "VIEWER")
    building, floor, plan = await topology(client, admin)
    writes = [
        ("post", "/api/v1/buildings/", {"name": "B", "code": "B"}),
        ("put", f"/api/v1/buildings/{building['id']}", {"name": "B"}),
        ("delete", f"/api/v1/floors/{floor['id']}", None),
        ("put", f"/api/v1/floor-plans/{plan['id']}", {"image_url": None}),
        ("post", "/api/v1/locations/", {"name": "L"}),
        ("post", "/api/v1/device-users/", {"device_id": 1, "person_id": 1}),
    ]
    for headers in (operator, viewer):
        for method, path, body in writes:
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                kwargs["json"] = body
            response = await getattr(client, method)(path, **kwargs)
            assert response.status_code == 403, (method, path)
        for path in ("/api/v1/buildings/", "/api/v1/floor-plans/", "/api/v1/device-users/"):
            assert (await client.get(path, headers=headers)).status_code == 200
    anonymous = await client.get("/api/v1/buildings/")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")

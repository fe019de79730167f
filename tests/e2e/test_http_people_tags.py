"""People, person groups and tags over HTTP: the original's CRUD tests, the front end's exact
calls, and the roles."""

from datetime import UTC, datetime

import psycopg
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
) -> dict[str, object]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_people_and_tags_as_the_originals_own_test(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    person = await post(client, "/api/v1/people/", {"full_name": "Ana Souza"}, root_headers)
    tag = await post(
        client,
        "/api/v1/tags/",
        {"mac_address": "AA:BB:CC:DD:EE:FF", "label": "badge", "person_id": person["id"]},
        root_headers,
    )
    found = await client.get("/api/v1/tags/by-mac/AA:BB:CC:DD:EE:FF", headers=root_headers)
    assert found.status_code == 200
    assert found.json()["id"] == tag["id"]
    mine = await client.get(f"/api/v1/tags/?person_id={person['id']}", headers=root_headers)
    assert [t["id"] for t in mine.json()] == [tag["id"]]


async def test_person_groups_crud_then_404(client: AsyncTestClient, root_headers: Headers) -> None:
    group = await post(
        client, "/api/v1/person-groups/", {"name": "Night shift", "description": None}, root_headers
    )
    listed = await client.get("/api/v1/person-groups/", headers=root_headers)
    assert [(g["id"], g["name"], g["description"]) for g in listed.json()] == [
        (group["id"], "Night shift", None)
    ]
    path = f"/api/v1/person-groups/{group['id']}"
    assert (await client.get(path, headers=root_headers)).json()["name"] == "Night shift"
    updated = await client.put(path, json={"description": "22h-6h"}, headers=root_headers)
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["description"]) == ("Night shift", "22h-6h")
    assert (await client.delete(path, headers=root_headers)).status_code == 204
    missing = await client.get(path, headers=root_headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "person_group_not_found"


async def test_the_front_ends_people_page_round_trip(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    night = await post(
        client, "/api/v1/person-groups/", {"name": "Night", "description": None}, root_headers
    )
    day = await post(client, "/api/v1/person-groups/", {"name": "Day"}, root_headers)
    ana = await post(
        client,
        "/api/v1/people/",
        {"full_name": "Ana", "document_id": None, "notes": None},
        root_headers,
    )
    assert ana["groups"] == []
    assert (ana["status"], ana["active"], ana["cpf"]) == ("ACTIVE", True, None)
    put = await client.put(
        f"/api/v1/people/{ana['id']}",
        json={"group_ids": [day["id"], night["id"]]},
        headers=root_headers,
    )
    assert put.status_code == 200
    assert put.json()["groups"] == [
        {"id": night["id"], "name": "Night"},
        {"id": day["id"], "name": "Day"},
    ]
    assert put.json()["full_name"] == "Ana"
    listed = (await client.get("/api/v1/people/", headers=root_headers)).json()
    assert {"id", "full_name", "document_id", "notes", "groups"} <= set(listed[0])
    assert listed[0]["groups"] == put.json()["groups"]


async def test_people_accept_the_originals_name_and_cpf_aliases(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    person = await post(
        client, "/api/v1/people/", {"name": "Bia", "cpf": "123.456.789-00"}, root_headers
    )
    assert (person["full_name"], person["document_id"], person["cpf"]) == (
        "Bia",
        "123.456.789-00",
        "123.456.789-00",
    )
    path = f"/api/v1/people/{person['id']}"
    renamed = await client.put(
        path, json={"name": "Beatriz", "active": False}, headers=root_headers
    )
    assert (renamed.json()["full_name"], renamed.json()["status"]) == ("Beatriz", "INACTIVE")
    assert renamed.json()["document_id"] == "123.456.789-00"
    nameless = await client.post("/api/v1/people/", json={"notes": "x"}, headers=root_headers)
    assert nameless.status_code == 422
    assert nameless.json()["code"] == "full_name_required"
    bad_group = await client.put(path, json={"group_ids": [4242]}, headers=root_headers)
    assert bad_group.status_code == 404
    assert bad_group.json()["code"] == "person_group_not_found"
    assert (await client.delete(path, headers=root_headers)).status_code == 204
    gone = await client.get(path, headers=root_headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "person_not_found")


async def test_group_members_are_replaced_and_read_back_with_the_group(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    group = await post(client, "/api/v1/person-groups/", {"name": "Visitors"}, root_headers)
    people = [
        await post(client, "/api/v1/people/", {"full_name": n}, root_headers)
        for n in ("Ana", "Bia", "Caio")
    ]
    ids = [p["id"] for p in people]
    base = f"/api/v1/person-groups/{group['id']}"
    replaced = await client.put(
        f"{base}/people", json={"people_ids": [ids[2], ids[0]]}, headers=root_headers
    )
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["id"], body["name"]) == (group["id"], "Visitors")
    assert [p["id"] for p in body["people"]] == [ids[0], ids[2]]
    assert body["people"][0]["groups"] == [{"id": group["id"], "name": "Visitors"}]
    members = await client.get(f"{base}/people", headers=root_headers)
    assert [p["id"] for p in members.json()] == [ids[0], ids[2]]
    with_members = await client.get(f"{base}/with-members", headers=root_headers)
    assert with_members.json() == body
    unknown = await client.put(
        f"{base}/people", json={"people_ids": [ids[1], 9999]}, headers=root_headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "person_not_found")
    still = await client.get(f"{base}/people", headers=root_headers)
    assert [p["id"] for p in still.json()] == [ids[0], ids[2]]


async def test_group_names_are_unique_as_the_original_answered(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    await post(client, "/api/v1/person-groups/", {"name": "Night"}, root_headers)
    again = await client.post(
        "/api/v1/person-groups/", json={"name": "Night"}, headers=root_headers
    )
    assert (again.status_code, again.json()["code"]) == (400, "person_group_name_taken")


async def test_the_front_ends_tag_body_and_the_fields_it_reads(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    person = await post(client, "/api/v1/people/", {"full_name": "Ana"}, root_headers)
    tag = await post(
        client,
        "/api/v1/tags/",
        {
            "mac_address": "aa-bb-cc-dd-ee-01",
            "label": None,
            "person_id": person["id"],
            "is_active": True,
        },
        root_headers,
    )
    assert (tag["mac_address"], tag["active"], tag["is_active"]) == (
        "AA:BB:CC:DD:EE:01",
        True,
        True,
    )
    inactive = await post(
        client, "/api/v1/tags/", {"mac_address": "AABBCCDDEE02", "active": False}, root_headers
    )
    assert (inactive["active"], inactive["is_active"]) == (False, False)
    listed = (await client.get("/api/v1/tags/", headers=root_headers)).json()
    assert [(t["id"], t["mac_address"], t["label"], t["person_id"]) for t in listed] == [
        (tag["id"], "AA:BB:CC:DD:EE:01", None, person["id"]),
        (inactive["id"], "AA:BB:CC:DD:EE:02", None, None),
    ]
    toggled = await client.put(
        f"/api/v1/tags/{inactive['id']}", json={"is_active": True}, headers=root_headers
    )
    assert (toggled.json()["active"], toggled.json()["mac_address"]) == (True, "AA:BB:CC:DD:EE:02")


@pytest.mark.parametrize("spelling", ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabbccddeeff"])
async def test_a_tag_is_found_by_any_spelling_of_its_mac(
    client: AsyncTestClient, root_headers: Headers, spelling: str
) -> None:
    tag = await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    found = await client.get(f"/api/v1/tags/by-mac/{spelling}", headers=root_headers)
    assert found.json()["id"] == tag["id"]


async def test_bad_and_taken_tag_macs_get_stable_codes(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, root_headers)
    taken = await client.post(
        "/api/v1/tags/", json={"mac_address": "aabbccddeeff"}, headers=root_headers
    )
    assert (taken.status_code, taken.json()["code"]) == (400, "tag_mac_taken")
    bad = await client.post(
        "/api/v1/tags/", json={"mac_address": "not-a-mac"}, headers=root_headers
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_mac")
    lookup = await client.get("/api/v1/tags/by-mac/zz", headers=root_headers)
    assert (lookup.status_code, lookup.json()["code"]) == (422, "invalid_mac")
    nobody = await client.get("/api/v1/tags/by-mac/AA:BB:CC:DD:EE:00", headers=root_headers)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "tag_not_found")
    orphan = await client.post(
        "/api/v1/tags/",
        json={"mac_address": "AA:BB:CC:DD:EE:00", "person_id": 777},
        headers=root_headers,
    )
    assert (orphan.status_code, orphan.json()["code"]) == (404, "person_not_found")


async def test_the_person_filter_applies_before_pagination(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    person = await post(client, "/api/v1/people/", {"full_name": "Ana"}, root_headers)
    for i in range(3):
        await post(client, "/api/v1/tags/", {"mac_address": f"00:00:00:00:00:0{i}"}, root_headers)
    mine = await post(
        client,
        "/api/v1/tags/",
        {"mac_address": "AA:00:00:00:00:00", "person_id": person["id"]},
        root_headers,
    )
    page = await client.get(
        f"/api/v1/tags/?person_id={person['id']}&skip=0&limit=1", headers=root_headers
    )
    assert [t["id"] for t in page.json()] == [mine["id"]]


async def test_unknown_tags_list_what_the_gateways_heard_newest_first(
    client: AsyncTestClient, root_headers: Headers, migrated_database_url: str
) -> None:
    gateway = await post(
        client,
        "/api/v1/devices/",
        {"name": "Lobby", "mac_address": "11:22:33:44:55:66"},
        root_headers,
    )
    async with await psycopg.AsyncConnection.connect(migrated_database_url, autocommit=True) as db:
        await db.execute(
            "INSERT INTO unknown_tags (mac_address, last_device_id, last_rssi, first_seen_at,"
            " last_seen_at, readings_count) VALUES"
            " ('AA:AA:AA:AA:AA:01', %s, -70, %s, %s, 4),"
            " ('AA:AA:AA:AA:AA:02', NULL, -50, %s, %s, 1)",
            [
                gateway["id"],
                datetime(2026, 1, 1, tzinfo=UTC),
                datetime(2026, 1, 2, tzinfo=UTC),
                datetime(2026, 1, 3, tzinfo=UTC),
                datetime(2026, 1, 3, tzinfo=UTC),
            ],
        )
    response = await client.get("/api/v1/tags/unknown", headers=root_headers)
    assert response.status_code == 200
    assert response.json() == [
        {
            "mac_address": "AA:AA:AA:AA:AA:02",
            "last_device_id": None,
            "last_device_name": None,
            "last_rssi": -50,
            "first_seen_at": "2026-01-03T00:00:00Z",
            "last_seen_at": "2026-01-03T00:00:00Z",
            "readings_count": 1,
        },
        {
            "mac_address": "AA:AA:AA:AA:AA:01",
            "last_device_id": gateway["id"],
            "last_device_name": "Lobby",
            "last_rssi": -70,
            "first_seen_at": "2026-01-01T00:00:00Z",
            "last_seen_at": "2026-01-02T00:00:00Z",
            "readings_count": 4,
        },
    ]


async def test_viewers_read_people_and_tags_but_never_write_them(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    person = await post(client, "/api/v1/people/", {"full_name": "Ana"}, root_headers)
    viewer = await user_headers(client, root_headers, "viewer@example.com", "VIEWER")
    for path in [
        "/api/v1/people/",
        "/api/v1/person-groups/",
        "/api/v1/tags/",
        "/api/v1/tags/unknown",
    ]:
        assert (await client.get(path, headers=viewer)).status_code == 200, path
    writes = [
        client.post("/api/v1/people/", json={"full_name": "X"}, headers=viewer),
        client.put(f"/api/v1/people/{person['id']}", json={"group_ids": []}, headers=viewer),
        client.delete(f"/api/v1/people/{person['id']}", headers=viewer),
        client.post("/api/v1/person-groups/", json={"name": "G"}, headers=viewer),
        client.post("/api/v1/tags/", json={"mac_address": "AA:BB:CC:DD:EE:FF"}, headers=viewer),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


async def test_operators_manage_people_groups_and_tags(
    client: AsyncTestClient, root_headers: Headers
) -> None:
    operator = await user_headers(client, root_headers, "op@example.com", "OPERATOR")
    person = await post(client, "/api/v1/people/", {"full_name": "Ana"}, operator)
    group = await post(client, "/api/v1/person-groups/", {"name": "G"}, operator)
    await post(client, "/api/v1/tags/", {"mac_address": "AA:BB:CC:DD:EE:FF"}, operator)
    moved = await client.put(
        f"/api/v1/people/{person['id']}", json={"group_ids": [group["id"]]}, headers=operator
    )
    assert moved.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/people/",
        "/api/v1/people",
        "/api/v1/person-groups/",
        "/api/v1/person-groups",
        "/api/v1/tags/",
        "/api/v1/tags",
        "/api/v1/tags/unknown",
    ],
)
async def test_collections_answer_with_and_without_the_trailing_slash_and_no_redirect(
    client: AsyncTestClient, root_headers: Headers, path: str
) -> None:
    response = await client.get(path, headers=root_headers)
    assert response.status_code == 200
    assert response.json() == []

"""Support groups, incident rules and incidents over HTTP: the front end's exact bodies and
polling, the timeline with ``after_id``, attachments, the default rules, and the roles."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.domain.incident_rules import DEFAULT_RULES
from tests.e2e.conftest import ClientFactory, login
from tests.support import images
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres

PASSWORD = "member password 1"
Headers = dict[str, str]
INCIDENTS = "/api/v1/incidents"
GROUPS = "/api/v1/support-groups/"
RULES = "/api/v1/incident-rules/"


class Actors:
    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client
        self.ids: dict[str, int] = {}

    async def root(self) -> Headers:
        return await login(self.client, "root@example.com", "root password 123")

    async def user(self, name: str, role: str) -> Headers:
        email = f"{name}@example.com"
        body = {"email": email, "password": PASSWORD, "role": role, "full_name": name.title()}
        created = await self.client.post("/api/v1/users/", json=body, headers=await self.root())
        assert created.status_code == 201, created.text
        self.ids[name] = created.json()["id"]
        return await login(self.client, email, PASSWORD)


@pytest.fixture
async def media_client(api_client: ClientFactory, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:
    async with api_client(MEDIA_ROOT=str(tmp_path / "media")) as c:
        yield c


async def face_event(client: AsyncTestClient, root: Headers, event_id: str = "json-1") -> int:
    """A camera (made once) and one of its faceCapture events; the event's id."""
    cameras = (await client.get("/api/v1/devices/cameras/", headers=root)).json()
    if cameras:
        camera_id = cameras[0]["id"]
    else:
        created = await client.post(
            "/api/v1/devices/cameras/", json={"name": "Portaria", "code": "fixa01"}, headers=root
        )
        camera_id = created.json()["id"]
    posted = await client.post(
        f"/api/v1/devices/cameras/{camera_id}/events",
        json={
            "analytic_type": "faceCapture",
            "payload": {"EventID": event_id, "Building": "predio_a", "Floor": "terreo"},
        },
        headers=root,
    )
    assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])


async def test_support_groups_as_the_admin_page_manages_them(client: AsyncTestClient) -> None:
    actors = Actors(client)
    root = await actors.root()
    await actors.user("ana", "OPERATOR")
    await actors.user("bia", "OPERATOR")
    body = {
        "name": "NOC",
        "description": None,
        "is_active": True,
        "default_sla_minutes": 30,
        "chatwoot_inbox_identifier": None,
        "chatwoot_team_id": None,
        "member_ids": [actors.ids["ana"]],
    }
    created = await client.post(GROUPS, json=body, headers=root)
    assert created.status_code == 200, created.text
    group = created.json()
    assert group["members"] == [
        {"id": actors.ids["ana"], "full_name": "Ana", "email": "ana@example.com"}
    ]
    path = f"{GROUPS}{group['id']}"
    members = [actors.ids["bia"], actors.ids["ana"]]
    updated = await client.put(path, json={"member_ids": members}, headers=root)
    assert updated.status_code == 200, updated.text
    assert [m["full_name"] for m in updated.json()["members"]] == ["Ana", "Bia"]
    assert (updated.json()["name"], updated.json()["default_sla_minutes"]) == ("NOC", 30)
    listed = (await client.get(GROUPS, headers=root)).json()
    assert {
        "id",
        "name",
        "description",
        "is_active",
        "default_sla_minutes",
        "chatwoot_inbox_identifier",
        "chatwoot_team_id",
        "members",
    } <= set(listed[0])
    taken = await client.post(GROUPS, json=body, headers=root)
    assert (taken.status_code, taken.json()["code"]) == (400, "support_group_name_taken")
    unknown = await client.put(path, json={"member_ids": [999999]}, headers=root)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user_not_found")
    event_id = await face_event(client, root)
    opened = await client.post(
        f"{INCIDENTS}/from-event",
        json={"device_event_id": event_id, "severity": "HIGH", "assigned_group_id": group["id"]},
        headers=root,
    )
    assert opened.json()["assigned_group"] == {"id": group["id"], "name": "NOC"}
    in_use = await client.delete(path, headers=root)
    assert (in_use.status_code, in_use.json()["code"]) == (409, "support_group_in_use")
    spare = await client.post(GROUPS, json={"name": "Spare"}, headers=root)
    assert (await client.delete(f"{GROUPS}{spare.json()['id']}", headers=root)).status_code == 204


async def test_incident_rules_as_the_rules_page_manages_them(client: AsyncTestClient) -> None:
    root = await Actors(client).root()
    camera = await client.post(
        "/api/v1/devices/cameras/", json={"name": "Cam", "code": "c1"}, headers=root
    )
    body = {
        "name": "Lista de observação",
        "enabled": True,
        "analytic_type": "faceRecognized",
        "severity": "HIGH",
        "title_template": "{person_name} na {camera_name}",
        "description_template": None,
        "device_id": camera.json()["id"],
        "camera_group_id": None,
        "assigned_group_id": None,
    }
    created = await client.post(RULES, json=body, headers=root)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert {k: rule[k] for k in body} == body
    path = f"{RULES}{rule['id']}"
    toggled = await client.patch(path, json={"enabled": False}, headers=root)
    assert toggled.status_code == 200
    assert toggled.json() == rule | {"enabled": False, "updated_at": toggled.json()["updated_at"]}
    listed = (await client.get(RULES, headers=root)).json()
    assert [r["id"] for r in listed] == [rule["id"]]
    assert (await client.get(path, headers=root)).json()["enabled"] is False
    both = await client.post(RULES, json=body | {"camera_group_id": 1}, headers=root)
    assert (both.status_code, both.json()["code"]) == (422, "rule_scope_ambiguous")
    defaults = await client.post(RULES, json={"name": "Padrão"}, headers=root)
    assert (defaults.json()["analytic_type"], defaults.json()["severity"]) == (
        "faceRecognized",
        "MEDIUM",
    )
    assert (await client.delete(path, headers=root)).status_code == 204
    gone = await client.get(path, headers=root)
    assert (gone.status_code, gone.json()["code"]) == (404, "incident_rule_not_found")


async def test_the_incident_page_works_an_incident_through_its_lifecycle(
    media_client: AsyncTestClient,
) -> None:
    client = media_client
    actors = Actors(client)
    root = await actors.root()
    operator = await actors.user("ana", "OPERATOR")
    await client.post(RULES, json={"name": "Faces", "analytic_type": "faceCapture"}, headers=root)
    await face_event(client, root)
    mine = await client.get(
        f"{INCIDENTS}/my", params={"only_open": "true", "limit": 20}, headers=operator
    )
    assert mine.status_code == 200, mine.text
    (incident,) = mine.json()
    assert {
        "id",
        "title",
        "description",
        "status",
        "severity",
        "kind",
        "device_id",
        "device_event_id",
        "tenant",
        "sla_minutes",
        "due_at",
        "created_at",
        "updated_at",
        "closed_at",
        "assigned_group",
        "assignees",
        "chatwoot_conversation_id",
    } <= set(incident)
    path = f"{INCIDENTS}/{incident['id']}"
    first = await client.get(f"{path}/messages", params={"limit": 300}, headers=operator)
    assert [m["message_type"] for m in first.json()] == ["SYSTEM"]
    last_id = first.json()[-1]["id"]
    started = await client.patch(path, json={"status": "IN_PROGRESS"}, headers=operator)
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["closed_at"]) == ("IN_PROGRESS", None)
    comment = await client.post(
        f"{path}/messages",
        json={"message_type": "COMMENT", "content": "A caminho"},
        headers=operator,
    )
    assert comment.status_code == 201, comment.text
    assert (comment.json()["author_name"], comment.json()["message_type"]) == ("Ana", "COMMENT")
    attached = await client.post(
        f"{path}/attachments",
        files={"file": ("porta.png", images.png(), "image/png")},
        data={"description": "Foto da porta"},
        headers=operator,
    )
    assert attached.status_code == 201, attached.text
    picture = attached.json()
    assert (picture["message_type"], picture["media_type"], picture["content"]) == (
        "MEDIA",
        "IMAGE",
        "Foto da porta",
    )
    served = await client.get(picture["media_url"])
    assert (served.status_code, served.headers["content-type"]) == (200, "image/png")
    pdf = await client.post(
        f"{path}/attachments",
        files={"file": ("laudo.pdf", b"%PDF-1.7\n%...", "application/pdf")},
        headers=operator,
    )
    assert (pdf.status_code, pdf.json()["code"]) == (415, "unsupported_image_type")
    resolved = await client.patch(path, json={"status": "RESOLVED"}, headers=operator)
    assert resolved.json()["closed_at"] is not None
    polled = await client.get(
        f"{path}/messages", params={"after_id": last_id, "limit": 200}, headers=operator
    )
    assert [(m["message_type"], m["content"]) for m in polled.json()] == [
        ("SYSTEM", "Status alterado de OPEN para IN_PROGRESS."),
        ("COMMENT", "A caminho"),
        ("MEDIA", "Foto da porta"),
        ("SYSTEM", "Status alterado de IN_PROGRESS para RESOLVED."),
    ]
    limited = await client.get(
        f"{path}/messages", params={"after_id": last_id, "limit": 1}, headers=operator
    )
    assert len(limited.json()) == 1
    reclassified = await client.patch(path, json={"status": "FALSE_POSITIVE"}, headers=operator)
    assert (reclassified.status_code, reclassified.json()["code"]) == (
        422,
        "invalid_status_transition",
    )
    still_open = await client.get(f"{INCIDENTS}/my", params={"only_open": "true"}, headers=operator)
    assert still_open.json() == []


async def test_from_event_takes_the_front_ends_body_and_is_idempotent(
    client: AsyncTestClient,
) -> None:
    actors = Actors(client)
    root = await actors.root()
    operator = await actors.user("ana", "OPERATOR")
    event_id = await face_event(client, root)
    body = {"device_event_id": event_id, "title": "Pessoa suspeita", "severity": "CRITICAL"}
    opened = await client.post(f"{INCIDENTS}/from-event", json=body, headers=operator)
    assert opened.status_code == 200, opened.text
    incident = opened.json()
    assert (incident["title"], incident["severity"], incident["sla_minutes"]) == (
        "Pessoa suspeita",
        "CRITICAL",
        15,
    )
    assert incident["created_by_user_id"] == actors.ids["ana"]
    again = await client.post(f"{INCIDENTS}/from-event", json=body, headers=operator)
    assert again.json()["id"] == incident["id"]
    issue = await client.post(f"{INCIDENTS}/from-device-event/{event_id}", headers=operator)
    assert (issue.status_code, issue.json()["id"]) == (200, incident["id"])
    other_event = await face_event(client, root, "json-2")
    camera_issue = await client.post(
        f"{INCIDENTS}/from-device-event/{other_event}", headers=operator
    )
    assert (camera_issue.json()["kind"], camera_issue.json()["title"]) == (
        "CAMERA_ISSUE",
        "Problema na câmera Portaria",
    )
    missing = await client.post(
        f"{INCIDENTS}/from-event", json={"device_event_id": 999999}, headers=operator
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "device_event_not_found")


async def test_incidents_opened_by_hand_keep_creator_assignees_and_filters_page_after(
    client: AsyncTestClient,
) -> None:
    actors = Actors(client)
    root = await actors.root()
    ana = await actors.user("ana", "OPERATOR")
    bia = await actors.user("bia", "OPERATOR")
    cameras = []
    for code in ("c1", "c2"):
        created = await client.post(
            "/api/v1/devices/cameras/", json={"name": code, "code": code}, headers=root
        )
        cameras.append(created.json()["id"])
    body = {
        "device_id": cameras[0],
        "title": "Porta forçada",
        "severity": "HIGH",
        "assignee_ids": [actors.ids["bia"]],
    }
    created = await client.post(f"{INCIDENTS}/", json=body, headers=ana)
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["created_by_user_id"] == actors.ids["ana"]
    assert [a["email"] for a in incident["assignees"]] == ["bia@example.com"]
    assert (incident["sla_minutes"], incident["status"]) == (60, "OPEN")
    for device_id in (cameras[1], cameras[0], cameras[1]):
        response = await client.post(
            f"{INCIDENTS}/", json={"device_id": device_id, "title": "x"}, headers=root
        )
        assert response.status_code == 201
    first_camera = await client.get(
        f"{INCIDENTS}/",
        params={"only_open": "true", "device_id": cameras[0], "limit": 1, "skip": 1},
        headers=root,
    )
    assert [i["id"] for i in first_camera.json()] == [incident["id"]]
    bias = (await client.get(f"{INCIDENTS}/my", headers=bia)).json()
    assert incident["id"] in [i["id"] for i in bias]
    anas = (await client.get(f"{INCIDENTS}/my", headers=ana)).json()
    assert incident["id"] not in [i["id"] for i in anas]
    reassigned = await client.patch(
        f"{INCIDENTS}/{incident['id']}", json={"assignee_ids": [actors.ids["ana"]]}, headers=ana
    )
    assert [a["full_name"] for a in reassigned.json()["assignees"]] == ["Ana"]
    missing = await client.get(f"{INCIDENTS}/999999", headers=root)
    assert (missing.status_code, missing.json()["code"]) == (404, "incident_not_found")
    no_device = await client.post(
        f"{INCIDENTS}/", json={"device_id": 999999, "title": "x"}, headers=root
    )
    assert (no_device.status_code, no_device.json()["code"]) == (404, "device_not_found")


async def test_operators_work_incidents_admins_manage_rules_viewers_only_read(
    client: AsyncTestClient,
) -> None:
    actors = Actors(client)
    root = await actors.root()
    operator = await actors.user("ana", "OPERATOR")
    viewer = await actors.user("vera", "VIEWER")
    event_id = await face_event(client, root)
    opened = await client.post(
        f"{INCIDENTS}/from-event", json={"device_event_id": event_id}, headers=operator
    )
    path = f"{INCIDENTS}/{opened.json()['id']}"
    assert (await client.get(path, headers=viewer)).status_code == 200
    assert (await client.get(f"{path}/messages", headers=viewer)).status_code == 200
    assert (await client.get(f"{INCIDENTS}/my", headers=viewer)).status_code == 200
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", path, {"status": "IN_PROGRESS"}),
        ("POST", f"{path}/messages", {"content": "x"}),
        ("POST", f"{INCIDENTS}/from-event", {"device_event_id": event_id}),
        ("POST", f"{INCIDENTS}/", {"device_id": 1, "title": "x"}),
    ]
    for method, url, body in writes:
        response = await client.request(method, url, json=body, headers=viewer)
        assert response.status_code == 403, (method, url)
    for method, url, body in [
        ("POST", RULES, {"name": "x", "analytic_type": "VMD"}),
        ("POST", GROUPS, {"name": "x"}),
    ]:
        assert (await client.request(method, url, json=body, headers=operator)).status_code == 403
    assert (await client.get(GROUPS, headers=operator)).status_code == 200
    assert (await client.get(GROUPS, headers=viewer)).status_code == 403
    assert (await client.get(RULES, headers=viewer)).status_code == 200
    assert (await client.get(f"{INCIDENTS}/")).status_code == 401


async def test_a_fresh_installation_has_the_default_face_rules(postgres_server_url: str) -> None:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        storage = PostgresStorage(url, min_size=1, max_size=2)
        await storage.open()
        try:
            async with storage.unit_of_work() as uow:
                seeded = await uow.incident_rules.list()
        finally:
            await storage.close()
    assert [(r.name, r.analytic_type, r.severity, r.enabled) for r in seeded] == [
        (r.name, r.analytic_type, r.severity, r.enabled) for r in DEFAULT_RULES
    ]
    assert all(r.device_id is None and r.camera_group_id is None for r in seeded)

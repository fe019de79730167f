"""Floor-plan images over HTTP: only real raster images are stored, by content hash, and
served back publicly with safe headers; everything refused leaves MEDIA_ROOT untouched."""

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, ClientFactory, login
from tests.support import images

pytestmark = pytest.mark.postgres

Headers = dict[str, str]
MEDIA_MAX_BYTES = 200_000
SAFE_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; img-src 'self'; sandbox",
    "cache-control": "public, max-age=31536000, immutable",
}


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def media_client(
    api_client: ClientFactory, media_root: Path
) -> AsyncIterator[AsyncTestClient]:
    async with api_client(
        MEDIA_ROOT=str(media_root), MEDIA_MAX_BYTES=str(MEDIA_MAX_BYTES)
    ) as client:
        yield client


@pytest.fixture
async def admin(media_client: AsyncTestClient) -> Headers:
    return await login(media_client, ROOT_EMAIL, ROOT_PASSWORD)


async def new_plan(client: AsyncTestClient, headers: Headers) -> dict[str, Any]:
    building = await client.post(
        "/api/v1/buildings/", json={"name": "Tower", "code": "TOWER"}, headers=headers
    )
    floor = await client.post(
        "/api/v1/floors/",
        json={"name": "Ground", "building_id": building.json()["id"]},
        headers=headers,
    )
    plan = await client.post(
        "/api/v1/floor-plans/",
        json={"name": "Ground_01", "floor_id": floor.json()["id"]},
        headers=headers,
    )
    assert plan.status_code == 201, plan.text
    return dict(plan.json())


def written(root: Path) -> list[str]:
    """Every file and folder under the media root (nothing, if it was never created)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


async def upload(
    client: AsyncTestClient,
    plan_id: int,
    data: bytes,
    headers: Headers,
    *,
    filename: str = "plan.png",
    content_type: str = "image/png",
) -> Any:
    return await client.post(
        f"/api/v1/floor-plans/{plan_id}/image",
        files={"file": (filename, data, content_type)},
        headers=headers,
    )


@pytest.mark.parametrize(
    ("data", "extension", "content_type"),
    [
        (images.png(), "png", "image/png"),
        (images.JPEG, "jpg", "image/jpeg"),
        (images.WEBP, "webp", "image/webp"),
    ],
)
async def test_an_uploaded_image_is_stored_by_hash_and_served_back_byte_identical(
    media_client: AsyncTestClient,
    admin: Headers,
    media_root: Path,
    *,
    data: bytes,
    extension: str,
    content_type: str,
) -> None:
    plan = await new_plan(media_client, admin)
    # What the client says about the file is ignored: the bytes say what they are.
    response = await upload(
        media_client, plan["id"], data, admin, filename="../../evil.svg", content_type="text/html"
    )
    assert response.status_code == 200, response.text
    name = f"{hashlib.sha256(data).hexdigest()}.{extension}"
    body = response.json()
    assert (body["image_url"], body["image_file_name"]) == (f"/media/floor_plans/{name}", name)
    assert body["id"] == plan["id"]
    assert written(media_root) == ["floor_plans", f"floor_plans/{name}"]
    assert (media_root / "floor_plans" / name).read_bytes() == data
    served = await media_client.get(body["image_url"])  # no token: <img> tags send none
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == content_type
    assert {k: served.headers[k] for k in SAFE_HEADERS} == SAFE_HEADERS
    listed = await media_client.get(
        f"/api/v1/buildings/{plan['building_id']}/floor-plans", headers=admin
    )
    assert listed.json()[0]["image_file_name"] == name


async def test_the_same_image_uploaded_twice_is_one_file(
    media_client: AsyncTestClient, admin: Headers, media_root: Path
) -> None:
    first = await new_plan(media_client, admin)
    second = await media_client.post(
        "/api/v1/floor-plans/",
        json={"name": "Ground_02", "floor_id": first["floor_id"]},
        headers=admin,
    )
    for plan_id in (first["id"], second.json()["id"]):
        assert (await upload(media_client, plan_id, images.JPEG, admin)).status_code == 200
    assert len(written(media_root)) == 2  # the folder and one file


@pytest.mark.parametrize(
    ("data", "filename", "status", "code"),
    [
        (
            images.png(trailer=b"<html><script>alert(1)</script></html>"),
            "plan.png",
            422,
            "image_contains_markup",
        ),
        (images.SVG, "plan.svg", 415, "unsupported_image_type"),
        (images.SVG, "plan.png", 415, "unsupported_image_type"),
        (images.GIF, "plan.png", 415, "unsupported_image_type"),
        (images.HTML, "plan.png", 415, "unsupported_image_type"),
        (b"", "plan.png", 422, "empty_file"),
        (images.png_claiming(100_000, 100_000), "bomb.png", 422, "image_too_many_pixels"),
        (images.png(trailer=bytes(MEDIA_MAX_BYTES)), "big.png", 413, "image_too_large"),
    ],
    ids=[
        "polyglot",
        "svg",
        "svg-named-png",
        "gif-named-png",
        "html-named-png",
        "empty",
        "decompression-bomb",
        "over-media-max-bytes",
    ],
)
async def test_anything_but_a_sound_image_is_refused_and_nothing_is_written(
    media_client: AsyncTestClient,
    admin: Headers,
    media_root: Path,
    *,
    data: bytes,
    filename: str,
    status: int,
    code: str,
) -> None:
    plan = await new_plan(media_client, admin)
    response = await upload(media_client, plan["id"], data, admin, filename=filename)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert written(media_root) == []
    after = await media_client.get(f"/api/v1/floor-plans/{plan['id']}", headers=admin)
    assert after.json() == plan


async def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    media_client: AsyncTestClient, admin: Headers, media_root: Path
) -> None:
    plan = await new_plan(media_client, admin)
    huge = images.png(trailer=bytes(50 * 1024 * 1024))
    response = await upload(media_client, plan["id"], huge, admin)
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert written(media_root) == []


async def test_an_upload_needs_a_file_an_existing_plan_and_an_admin(
    media_client: AsyncTestClient, admin: Headers, media_root: Path
) -> None:
    plan = await new_plan(media_client, admin)
    path = f"/api/v1/floor-plans/{plan['id']}/image"
    no_file = await media_client.post(
        path, files={"image": ("plan.png", images.png(), "image/png")}, headers=admin
    )
    assert (no_file.status_code, no_file.json()["code"]) == (422, "validation_error")
    missing = await upload(media_client, 987654, images.png(), admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "floor_plan_not_found")
    for role in ("OPERATOR", "VIEWER"):
        email = f"{role.lower()}@example.com"
        created = await media_client.post(
            "/api/v1/users/",
            json={"email": email, "password": "member password 1", "role": role},
            headers=admin,
        )
        assert created.status_code == 201
        headers = await login(media_client, email, "member password 1")
        assert (await upload(media_client, plan["id"], images.png(), headers)).status_code == 403
    anonymous = await upload(media_client, plan["id"], images.png(), {})
    assert anonymous.status_code == 401
    assert written(media_root) == []


async def test_media_serves_only_stored_names_never_a_listing_or_another_file(
    media_client: AsyncTestClient, admin: Headers, media_root: Path
) -> None:
    plan = await new_plan(media_client, admin)
    stored = (await upload(media_client, plan["id"], images.png(), admin)).json()
    (media_root / "secret.txt").write_text("secret")
    (media_root / "floor_plans" / "notes.png").write_bytes(images.png())
    name = stored["image_file_name"]
    for path in [
        "/media/",
        "/media/floor_plans",
        "/media/floor_plans/",
        "/media/secret.txt",
        "/media/floor_plans/notes.png",
        "/media/floor_plans/..%2Fsecret.txt",
        "/media/floor_plans/%2e%2e%2fsecret.txt",
        "/media/..%2Fsecret.txt/" + name,
        "/media/incidents/" + name,
        "/media/floor_plans/" + name.upper(),
        "/media/floor_plans/" + name.replace(".png", ".html"),
    ]:
        response = await media_client.get(path)
        assert response.status_code == 404, path
        assert b"secret" not in response.content
    assert (await media_client.get(stored["image_url"])).status_code == 200

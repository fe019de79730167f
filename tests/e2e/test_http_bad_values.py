"""Values a request may carry that PostgreSQL cannot take — a NUL in a text, an offset past a
bigint — get a 4xx with a stable code, and nothing is stored (found by schemathesis with more
examples than CI runs: they were 500s)."""

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.postgres

Headers = dict[str, str]
LISTS = ["/api/v1/people/", "/api/v1/users/", "/api/v1/webhooks", "/api/v1/incidents/my"]


@pytest.mark.parametrize("path", LISTS)
async def test_an_offset_past_a_bigint_is_refused_and_the_largest_one_answers_empty(
    client: AsyncTestClient, root_headers: Headers, path: str
) -> None:
    too_far = await client.get(path, params={"skip": str(2**63)}, headers=root_headers)
    assert (too_far.status_code, too_far.json()["code"]) == (422, "validation_error")
    assert "skip" in too_far.json()["detail"]
    farthest = await client.get(path, params={"skip": str(2**63 - 1)}, headers=root_headers)
    assert (farthest.status_code, farthest.json()) == (200, [])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/locations", {"name": "Lobby", "description": "a\u0000b", "status": "active"}),
        ("/api/v1/people/", {"full_name": "Ana\u0000", "document_id": "X1"}),
        ("/api/v1/buildings/", {"name": "To\u0000wer", "code": "TWR"}),
    ],
)
async def test_a_nul_in_a_text_is_refused_and_nothing_is_stored(
    client: AsyncTestClient, root_headers: Headers, path: str, body: dict[str, str]
) -> None:
    before = (await client.get(path, headers=root_headers)).json()
    response = await client.post(path, json=body, headers=root_headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_value")
    assert "NUL" in response.json()["detail"]
    assert (await client.get(path, headers=root_headers)).json() == before
    clean = {k: v.replace("\u0000", "") for k, v in body.items()}
    assert (await client.post(path, json=clean, headers=root_headers)).status_code == 201

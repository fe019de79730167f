"""Identity over HTTP: the front end's calls, the error shape, and the guards."""

import base64
import json

import pytest
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, ClientFactory, login

pytestmark = pytest.mark.postgres

PASSWORD = "operator pass 1"


async def create(
    client: AsyncTestClient,
    headers: dict[str, str],
    email: str,
    role: str = "OPERATOR",
    **extra: object,
) -> dict[str, object]:
    name = email.split("@", maxsplit=1)[0]
    body = {"email": email, "full_name": name, "password": PASSWORD, "role": role}
    response = await client.post("/api/v1/users/", json=body | extra, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_bootstrapped_superadmin_logs_in_and_reads_itself(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    me = await client.get("/api/v1/auth/me", headers=root_headers)
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == ROOT_EMAIL
    assert body["role"] == "SUPERADMIN"
    assert body["is_superuser"] is True
    assert set(body) >= {"id", "full_name", "is_active", "created_at", "updated_at"}
    assert "hashed_password" not in body


@pytest.mark.parametrize("path", ["/api/v1/users/", "/api/v1/users", "/api/v1/auth/me"])
async def test_protected_routes_without_a_token_answer_401_in_the_error_shape(
    client: AsyncTestClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json() == {
        "status_code": 401,
        "code": "not_authenticated",
        "detail": "Not authenticated",
    }
    assert response.headers["www-authenticate"] == "Bearer"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_token_with_alg_none_or_a_forged_payload_is_refused(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    token = root_headers["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    forged = f"{header}.{_b64(claims | {'sub': '999'})}.{signature}"
    for bad in [unsigned, forged, token + "x", "Basic abc"]:
        response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad


async def test_a_wrong_audience_token_is_refused(api_client: ClientFactory) -> None:
    async with api_client(JWT_AUDIENCE="another-product") as other:
        headers = await login(other, ROOT_EMAIL, ROOT_PASSWORD)
    async with api_client() as client:
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_tokens_carry_the_configured_lifetime_issuer_and_audience(
    api_client: ClientFactory,
) -> None:
    async with api_client(SVPOS_ACCESS_TOKEN_EXPIRE_MINUTES="1") as client:
        headers = await login(client, ROOT_EMAIL, ROOT_PASSWORD)
    token = headers["Authorization"].removeprefix("Bearer ")
    _, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["exp"] - claims["iat"] == 60
    assert claims["iss"] == "security-vision"
    assert claims["aud"] == "security-vision-clients"


async def test_unknown_user_and_wrong_password_get_identical_answers(
    client: AsyncTestClient,
) -> None:
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": ROOT_PASSWORD}
    )
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": ROOT_EMAIL, "password": "wrong password"}
    )
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()
    assert unknown.json()["code"] == "invalid_credentials"


async def test_login_is_throttled_after_ten_failures_even_for_the_right_password(
    client: AsyncTestClient,
) -> None:
    for _ in range(10):
        response = await client.post(
            "/api/v1/auth/login", json={"email": ROOT_EMAIL, "password": "wrong password"}
        )
        assert response.status_code == 400
    limited = await client.post(
        "/api/v1/auth/login", json={"email": ROOT_EMAIL, "password": ROOT_PASSWORD}
    )
    assert limited.status_code == 429
    assert limited.json()["code"] == "too_many_attempts"
    assert 0 < int(limited.headers["retry-after"]) <= 901


async def test_an_admin_manages_operators_but_cannot_mint_a_superadmin(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    await create(client, root_headers, "admin@example.com", "ADMIN")
    admin = await login(client, "admin@example.com", PASSWORD)
    for body in [{"role": "SUPERADMIN"}, {"role": "OPERATOR", "is_superuser": True}]:
        response = await client.post(
            "/api/v1/users/",
            json={"email": "evil@example.com", "password": PASSWORD} | body,
            headers=admin,
        )
        assert response.status_code == 403
        assert response.json()["code"] == "role_not_grantable"
    operator = await create(client, admin, "op@example.com")
    promoted = await client.patch(
        f"/api/v1/users/{operator['id']}", json={"role": "SUPERADMIN"}, headers=admin
    )
    assert promoted.status_code == 403
    renamed = await client.patch(
        f"/api/v1/users/{operator['id']}",
        json={"full_name": "Op Erator", "chatwoot_agent_id": 12},
        headers=admin,
    )
    assert renamed.status_code == 200
    assert renamed.json()["full_name"] == "Op Erator"
    assert renamed.json()["chatwoot_agent_id"] == 12
    assert renamed.json()["role"] == "OPERATOR"


async def test_users_crud_as_the_front_end_does_it(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    created = await create(client, root_headers, "ana@example.com", "OPERATOR")
    listed = await client.get("/api/v1/users/", headers=root_headers)
    assert [u["email"] for u in listed.json()] == [ROOT_EMAIL, "ana@example.com"]
    duplicate = await client.post(
        "/api/v1/users/",
        json={"email": "ANA@example.com", "password": PASSWORD},
        headers=root_headers,
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "email_taken"
    deleted = await client.delete(f"/api/v1/users/{created['id']}", headers=root_headers)
    assert deleted.status_code == 204
    missing = await client.delete(f"/api/v1/users/{created['id']}", headers=root_headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "user_not_found"


async def test_operators_and_viewers_cannot_manage_users(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    await create(client, root_headers, "op@example.com", "OPERATOR")
    await create(client, root_headers, "viewer@example.com", "VIEWER")
    for email in ["op@example.com", "viewer@example.com"]:
        headers = await login(client, email, PASSWORD)
        assert (await client.get("/api/v1/users/", headers=headers)).status_code == 403
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200


async def test_a_bad_body_gets_422_with_a_stable_code(
    client: AsyncTestClient, root_headers: dict[str, str]
) -> None:
    for body in [{"email": "a@example.com"}, {"email": 3, "password": PASSWORD}, "not json"]:
        response = await client.post("/api/v1/users/", json=body, headers=root_headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
    weak = await client.post(
        "/api/v1/users/", json={"email": "a@example.com", "password": "short"}, headers=root_headers
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"


async def test_signup_is_closed_outside_dev_mode(client: AsyncTestClient) -> None:
    response = await client.post(
        "/api/v1/auth/signup",
        json={"email": "first@example.com", "password": PASSWORD, "role": "ADMIN"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "signup_disabled"


async def test_cors_preflight_allows_the_front_end_origin_only(client: AsyncTestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = await client.options(
        "/api/v1/users/", headers=preflight | {"Origin": "http://localhost:5173"}
    )
    assert ok.status_code in (200, 204)
    assert ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert ok.headers.get("access-control-allow-credentials") != "true"
    evil = await client.options(
        "/api/v1/users/", headers=preflight | {"Origin": "https://evil.example"}
    )
    assert evil.headers.get("access-control-allow-origin") not in ("*", "https://evil.example")


async def test_cors_origins_come_from_configuration(api_client: ClientFactory) -> None:
    async with api_client(CORS_ALLOW_ORIGINS="https://console.example.com") as client:
        response = await client.get("/health", headers={"Origin": "https://console.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://console.example.com"


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs", "/metrics"])
async def test_operational_routes_are_public(client: AsyncTestClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_health_reports_the_database_and_an_unreachable_broker(
    api_client: ClientFactory,
) -> None:
    async with api_client(
        RTLS_MQTT_ENABLED="true", RTLS_MQTT_HOST="127.0.0.1", RTLS_MQTT_PORT="9"
    ) as client:
        body = (await client.get("/health")).json()
    assert body["database"]["status"] == "up"
    assert body["broker"]["status"] == "down"
    assert body["status"] == "degraded"


async def test_openapi_documents_the_bearer_scheme_and_the_user_routes(
    client: AsyncTestClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "BearerToken" in spec["components"]["securitySchemes"]
    assert "/api/v1/users" in spec["paths"] or "/api/v1/users/" in spec["paths"]
    assert "/api/v1/auth/login" in spec["paths"]

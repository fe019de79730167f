"""Bearer tokens: only our own, unexpired, HS256 tokens for our audience get in."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from securityvision.adapters.security import JwtTokenService
from securityvision.domain.errors import AuthenticationFailed
from securityvision.domain.identity import Role, User
from tests.support.clock import FakeClock

SECRET = "s" * 64
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ANA = User(
    id=7,
    email="ana@example.com",
    full_name="Ana",
    hashed_password="x",
    role=Role.OPERATOR,
    is_active=True,
    is_superuser=False,
    chatwoot_agent_id=None,
    created_at=T0,
    updated_at=T0,
)


def service(clock: FakeClock, **overrides: object) -> JwtTokenService:
    options: dict[str, object] = {
        "secret": SECRET,
        "issuer": "security-vision",
        "audience": "security-vision-clients",
        "ttl": timedelta(minutes=60),
        "clock": clock,
    } | overrides
    return JwtTokenService(**options)


def claims(**overrides: object) -> dict[str, object]:
    return {
        "sub": "7",
        "role": "OPERATOR",
        "iat": int(T0.timestamp()),
        "exp": int((T0 + timedelta(hours=1)).timestamp()),
        "iss": "security-vision",
        "aud": "security-vision-clients",
    } | overrides


def test_a_token_we_issued_verifies_to_its_user() -> None:
    clock = FakeClock(T0)
    tokens = service(clock)
    verified = tokens.verify(tokens.issue(ANA))
    assert verified.user_id == 7
    assert verified.role is Role.OPERATOR


def test_an_expired_token_is_refused() -> None:
    clock = FakeClock(T0)
    tokens = service(clock)
    token = tokens.issue(ANA)
    clock.advance(minutes=61)
    with pytest.raises(AuthenticationFailed) as caught:
        tokens.verify(token)
    assert caught.value.code == "token_expired"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims())}.", id="alg-none"),
        pytest.param(jwt.encode(claims(), "another secret " * 4, "HS256"), id="wrong-secret"),
        pytest.param(jwt.encode(claims(aud="someone-else"), SECRET, "HS256"), id="wrong-aud"),
        pytest.param(jwt.encode(claims(iss="someone-else"), SECRET, "HS256"), id="wrong-iss"),
        pytest.param(jwt.encode(claims(), SECRET, "HS512"), id="other-alg"),
        pytest.param(jwt.encode(claims(sub="abc"), SECRET, "HS256"), id="bad-sub"),
        pytest.param(
            jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, "HS256"),
            id="no-exp",
        ),
        pytest.param("not.a.token", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_foreign_or_forged_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        service(FakeClock(T0)).verify(token)


def test_a_tampered_payload_breaks_the_signature() -> None:
    tokens = service(FakeClock(T0))
    header, _, signature = tokens.issue(ANA).split(".")
    forged = f"{header}.{_b64(claims(sub='1', role='SUPERADMIN'))}.{signature}"
    with pytest.raises(AuthenticationFailed):
        tokens.verify(forged)

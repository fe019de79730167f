"""Passwords (argon2id) and bearer tokens (JWT, HS256 pinned)."""

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from securityvision.application.ports import Clock, TokenClaims
from securityvision.domain.errors import AuthenticationFailed
from securityvision.domain.identity import Role, User

_ALGORITHM = "HS256"
_LEEWAY = timedelta(seconds=10)


class Argon2PasswordHasher:
    """argon2id with the library's current defaults; hashing runs off the event loop, since
    each call deliberately costs tens of milliseconds of CPU."""

    def __init__(self) -> None:
        self._argon2 = _Argon2()
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, hashed: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, hashed, password)

    async def verify_dummy(self, password: str) -> None:
        await asyncio.to_thread(self._verify, self._dummy_hash, password)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._argon2.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class JwtTokenService:
    """Issues and checks HS256 tokens carrying ``sub``, ``role``, ``exp``, ``iat``, ``iss``,
    ``aud`` and ``jti``; any other algorithm (``none`` included) is refused."""

    def __init__(
        self, *, secret: str, issuer: str, audience: str, ttl: timedelta, clock: Clock
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._clock = clock

    def issue(self, user: User) -> str:
        now = self._clock.now()
        claims = {
            "sub": str(user.id),
            "role": str(user.effective_role),
            "iat": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        invalid = AuthenticationFailed("Could not validate credentials", code="invalid_token")
        try:
            # Expiry is checked against our Clock below, not the library's idea of now.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
            user_id = int(claims["sub"])
            role = Role(claims.get("role", Role.VIEWER))
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
            raise invalid from exc
        if expires_at + _LEEWAY < self._clock.now():
            raise AuthenticationFailed("Token has expired", code="token_expired")
        return TokenClaims(user_id=user_id, role=role, expires_at=expires_at)


class TokenSecretGenerator:
    def password(self) -> str:
        return secrets.token_urlsafe(18)

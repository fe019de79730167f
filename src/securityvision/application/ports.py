"""The ports: what the use cases need from the world, each named by its role.

Adapters implement these Protocols; the in-memory ones and the PostgreSQL ones pass the same
contract suite (tests/contract).
"""

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import msgspec

from securityvision.domain.identity import NewUser, Role, User


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class UserRepository(Protocol):
    """Users of the control room, keyed by id and by normalized e-mail."""

    async def add(self, user: NewUser) -> User:
        """Store a new user; raises ``Conflict(code="email_taken")`` on a duplicate e-mail."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Look up by an already normalized e-mail."""
        ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[User]:
        """Users ordered by id."""
        ...

    async def update(self, user: User) -> User:
        """Persist every field of ``user``; ``updated_at`` is set by the repository."""
        ...

    async def delete(self, user_id: int) -> bool:
        """Remove the user and their memberships; False when there was none."""
        ...

    async def count(self) -> int: ...

    async def count_admins(self) -> int:
        """Active users who are ADMIN, SUPERADMIN or superuser."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: rolled back unless ``commit()`` was called."""

    @property
    def users(self) -> UserRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class LoginAttempts(Protocol):
    """Failed logins, remembered across API processes so throttling holds behind a balancer."""

    async def record_failure(self, keys: Sequence[str], at: datetime) -> None: ...

    async def failures_since(self, key: str, since: datetime) -> Sequence[datetime]:
        """Times of the failures recorded for ``key`` at or after ``since``, oldest first."""
        ...

    async def clear(self, key: str) -> None: ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, hashed: str, password: str) -> bool:
        """False on a mismatch or a malformed hash; never raises for either."""
        ...

    async def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification takes, so an unknown account is not revealed."""
        ...


class TokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int
    role: Role
    expires_at: datetime


class TokenService(Protocol):
    def issue(self, user: User) -> str: ...

    def verify(self, token: str) -> TokenClaims:
        """Raises ``AuthenticationFailed`` for anything but a valid, unexpired token of ours."""
        ...


class SecretGenerator(Protocol):
    def password(self) -> str:
        """A fresh random password fit to print once to an operator."""
        ...


class Storage(Protocol):
    """The system of record as a whole: where units of work come from, opened and closed by
    the entrypoint that owns the process."""

    @property
    def login_attempts(self) -> LoginAttempts: ...

    def unit_of_work(self) -> UnitOfWork: ...

    async def ensure_schema(self, *, apply: bool) -> list[str]:
        """Bring the schema up to date (``apply``) or raise ``StorageError`` if it is behind;
        returns what was applied."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raises ``StorageError`` when the store does not answer."""
        ...

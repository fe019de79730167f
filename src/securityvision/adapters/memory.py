"""In-memory adapters: the whole system of record in a few dicts.

For the domain and use-case tests and for services that embed the library without a
database. The contract suite (tests/contract) runs the same tests against these and the
PostgreSQL adapters, so they stay faithful.
"""

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import msgspec

from securityvision.adapters.clock import SystemClock
from securityvision.application.ports import Clock
from securityvision.domain.errors import Conflict, StorageError
from securityvision.domain.identity import NewUser, Role, User


class _State(msgspec.Struct, kw_only=True):
    users: dict[int, User] = msgspec.field(default_factory=dict)

    def clone(self) -> "_State":
        """A copy whose tables can change without touching this one (values are frozen)."""
        return _State(users=dict(self.users))


class InMemoryUserRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    async def add(self, user: NewUser) -> User:
        if await self.get_by_email(user.email) is not None:
            raise Conflict("a user with this email already exists", code="email_taken")
        now = self._clock.now()
        fields = msgspec.structs.asdict(user)
        stored = User(id=next(self._ids), created_at=now, updated_at=now, **fields)
        self._state.users[stored.id] = stored
        return stored

    async def get(self, user_id: int) -> User | None:
        return self._state.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._state.users.values() if u.email == email.lower()), None)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[User]:
        ordered = sorted(self._state.users.values(), key=lambda u: u.id)
        return ordered[skip : skip + limit]

    async def update(self, user: User) -> User:
        if user.id not in self._state.users:
            raise StorageError(f"user {user.id} vanished")
        stored = msgspec.structs.replace(user, updated_at=self._clock.now())
        self._state.users[user.id] = stored
        return stored

    async def delete(self, user_id: int) -> bool:
        return self._state.users.pop(user_id, None) is not None

    async def count(self) -> int:
        return len(self._state.users)

    async def count_admins(self) -> int:
        return sum(
            1
            for u in self._state.users.values()
            if u.is_active and (u.is_superuser or u.role in (Role.ADMIN, Role.SUPERADMIN))
        )


class InMemoryUnitOfWork:
    """Works on a copy of the state and publishes it on ``commit()``; leaving the block
    without committing discards the copy, like a rolled-back transaction."""

    def __init__(self, storage: "InMemoryStorage") -> None:
        self._storage = storage
        self.committed = False

    async def __aenter__(self) -> Self:
        self._working = self._storage.state.clone()
        self.users = InMemoryUserRepository(self._working, self._storage.ids, self._storage.clock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._working

    async def commit(self) -> None:
        self._storage.state = self._working
        self.committed = True


class InMemoryLoginAttempts:
    def __init__(self) -> None:
        self._failures: dict[str, list[datetime]] = defaultdict(list)

    async def record_failure(self, keys: Sequence[str], at: datetime) -> None:
        for key in keys:
            self._failures[key].append(at)

    async def failures_since(self, key: str, since: datetime) -> Sequence[datetime]:
        return sorted(t for t in self._failures.get(key, ()) if t >= since)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class InMemoryStorage:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.state = _State()
        self.ids = itertools.count(1)
        self._login_attempts = InMemoryLoginAttempts()
        self.is_open = False

    @property
    def login_attempts(self) -> InMemoryLoginAttempts:
        return self._login_attempts

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    async def ensure_schema(self, *, apply: bool) -> list[str]:
        return []

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    async def ping(self) -> None:
        return None

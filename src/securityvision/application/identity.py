"""Identity use cases: logging in, knowing who calls, and managing users."""

from datetime import datetime, timedelta

import msgspec

from securityvision.application.ports import (
    Clock,
    LoginAttempts,
    PasswordHasher,
    SecretGenerator,
    TokenService,
    UnitOfWorkFactory,
)
from securityvision.domain.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from securityvision.domain.identity import (
    NewUser,
    Role,
    User,
    check_may_grant,
    check_may_manage,
    check_password_policy,
    normalize_email,
)

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 50
INVALID_CREDENTIALS = "Incorrect email or password"


class AccessToken(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str = "bearer"


class Login:
    """Exchange an e-mail and password for a bearer token.

    - An unknown e-mail, a wrong password and an inactive account get the same answer, after
      the same amount of work (a dummy hash is verified for an unknown account).
    - More than 10 failures for one account in 15 minutes, or more than 50 from one address,
      close the door for both: the right password is refused too until the window moves on.
    - A success forgets the account's failures, not the address's.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        attempts: LoginAttempts,
        hasher: PasswordHasher,
        tokens: TokenService,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._attempts = attempts
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock

    async def execute(self, email: str, password: str, address: str) -> AccessToken:
        now = self._clock.now()
        account_key = f"account:{email.strip().lower()}"
        address_key = f"address:{address}"
        await self._refuse_while_throttled(account_key, MAX_FAILURES_PER_ACCOUNT, now)
        await self._refuse_while_throttled(address_key, MAX_FAILURES_PER_ADDRESS, now)

        async with self._uow() as uow:
            user = await uow.users.get_by_email(email.strip().lower())
        if user is None:
            await self._hasher.verify_dummy(password)
            verified = False
        else:
            verified = await self._hasher.verify(user.hashed_password, password)
        if user is None or not verified or not user.is_active:
            await self._attempts.record_failure([account_key, address_key], now)
            raise AuthenticationFailed(INVALID_CREDENTIALS, code="invalid_credentials")
        await self._attempts.clear(account_key)
        return AccessToken(access_token=self._tokens.issue(user))

    async def _refuse_while_throttled(self, key: str, limit: int, now: datetime) -> None:
        failures = await self._attempts.failures_since(key, now - LOGIN_WINDOW)
        if len(failures) >= limit:
            # The door opens again when enough of the failures have left the window.
            reopens_at = failures[len(failures) - limit] + LOGIN_WINDOW
            retry_after = max(1, int((reopens_at - now).total_seconds()) + 1)
            raise TooManyAttempts(
                "Too many failed login attempts; try again later", retry_after=retry_after
            )


class Authenticate:
    """Turn a bearer token into the active user it was issued to.

    The user is read from storage on every call, so a deactivated or deleted account loses
    access at once, and a role change applies at once.
    """

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService) -> None:
        self._uow = uow
        self._tokens = tokens

    async def execute(self, token: str) -> User:
        claims = self._tokens.verify(token)
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(claims.user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Could not validate credentials", code="invalid_token")
        return user


class UserDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A user as an administrator (or the command line) asks for it, password in clear."""

    email: str
    password: str
    full_name: str | None = None
    role: Role = Role.OPERATOR
    is_active: bool = True
    is_superuser: bool = False
    chatwoot_agent_id: int | None = None


class UserChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields are left as they are."""

    full_name: str | msgspec.UnsetType | None = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    is_superuser: bool | msgspec.UnsetType = msgspec.UNSET
    chatwoot_agent_id: int | msgspec.UnsetType | None = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET


class CreateUser:
    """Create a user.

    - ``actor`` None is the system itself (command line, bootstrap).
    - Only a SUPERADMIN creates a SUPERADMIN (or sets ``is_superuser``).
    - E-mails are unique, compared case-insensitively.
    """

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher) -> None:
        self._uow = uow
        self._hasher = hasher

    async def execute(self, draft: UserDraft, actor: User | None) -> User:
        check_may_grant(actor, draft.role, draft.is_superuser)
        email = normalize_email(draft.email)
        check_password_policy(draft.password)
        hashed = await self._hasher.hash(draft.password)
        async with self._uow() as uow:
            user = await uow.users.add(
                NewUser(
                    email=email,
                    full_name=draft.full_name,
                    hashed_password=hashed,
                    role=draft.role,
                    is_active=draft.is_active,
                    is_superuser=draft.is_superuser,
                    chatwoot_agent_id=draft.chatwoot_agent_id,
                )
            )
            await uow.commit()
        return user


class UpdateUser:
    """Change a user's profile, role, activity or password.

    - An ADMIN may not touch a SUPERADMIN account, nor promote anyone to SUPERADMIN.
    - Nobody demotes or deactivates themselves: the last administrator cannot lock everyone out
      by a slip of the mouse.
    """

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher) -> None:
        self._uow = uow
        self._hasher = hasher

    async def execute(self, user_id: int, changes: UserChanges, actor: User | None) -> User:
        hashed: str | msgspec.UnsetType = msgspec.UNSET
        if not isinstance(changes.password, msgspec.UnsetType):
            check_password_policy(changes.password)
            hashed = await self._hasher.hash(changes.password)
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found", code="user_not_found")
            check_may_manage(actor, user)
            updated = _apply(user, changes, hashed)
            if updated.is_super and not user.is_super:
                check_may_grant(actor, updated.role, updated.is_superuser)
            if actor is not None and actor.id == user.id and _weakens(user, updated):
                raise PermissionDenied(
                    "you cannot demote or deactivate your own account", code="self_demotion"
                )
            saved = await uow.users.update(updated)
            await uow.commit()
        return saved


def _apply(user: User, changes: UserChanges, hashed: str | msgspec.UnsetType) -> User:
    values = {
        name: value
        for name in ("full_name", "role", "is_active", "is_superuser", "chatwoot_agent_id")
        if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
    }
    if not isinstance(hashed, msgspec.UnsetType):
        values["hashed_password"] = hashed
    return msgspec.structs.replace(user, **values)


def _weakens(before: User, after: User) -> bool:
    return (before.is_active and not after.is_active) or (
        before.effective_role is not after.effective_role
        and not after.has_at_least(before.effective_role)
    )


class DeleteUser:
    """Delete a user (and their group memberships); nobody deletes themselves."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, user_id: int, actor: User | None) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found", code="user_not_found")
            check_may_manage(actor, user)
            if actor is not None and actor.id == user.id:
                raise Conflict("you cannot delete your own account", code="self_deletion")
            await uow.users.delete(user_id)
            await uow.commit()


class ListUsers:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, actor: User, skip: int = 0, limit: int = 200) -> list[User]:
        if not actor.is_admin:
            raise PermissionDenied("only administrators manage users")
        async with self._uow() as uow:
            return list(await uow.users.list(skip=skip, limit=limit))


class SignUp:
    """The first user of a brand-new installation creates themselves as SUPERADMIN.

    - Only in dev mode: a production system is bootstrapped from ``SUPERADMIN_*`` or the
      command line, never by whoever reaches the API first.
    - Only while no user exists at all.
    """

    def __init__(self, create: CreateUser, uow: UnitOfWorkFactory, dev_mode: bool) -> None:
        self._create = create
        self._uow = uow
        self._dev_mode = dev_mode

    async def execute(self, draft: UserDraft) -> User:
        if not self._dev_mode:
            raise PermissionDenied(
                "signup is only available in dev mode; ask an administrator for an account",
                code="signup_disabled",
            )
        async with self._uow() as uow:
            if await uow.users.count() > 0:
                raise PermissionDenied(
                    "signup is closed once the first user exists", code="signup_closed"
                )
        first = msgspec.structs.replace(draft, role=Role.SUPERADMIN, is_superuser=True)
        return await self._create.execute(first, actor=None)


class BootstrapResult(msgspec.Struct, frozen=True, kw_only=True):
    created: bool
    email: str
    generated_password: str | None = None


class BootstrapSuperadmin:
    """Make sure the installation has a SUPERADMIN to start from; idempotent.

    - With an e-mail and password configured: create that SUPERADMIN unless a user with that
      e-mail exists (an existing account is never overwritten).
    - With no password (``dev``): create the account with a generated password, which is
      returned once to be printed — but only while no administrator exists, so a team that set
      up its own admins never finds a surprise account.
    """

    def __init__(self, create: CreateUser, uow: UnitOfWorkFactory, secrets: SecretGenerator):
        self._create = create
        self._uow = uow
        self._secrets = secrets

    async def execute(self, email: str, full_name: str, password: str | None) -> BootstrapResult:
        normalized = normalize_email(email)
        async with self._uow() as uow:
            existing = await uow.users.get_by_email(normalized)
            admins = await uow.users.count_admins()
        if existing is not None or (password is None and admins > 0):
            return BootstrapResult(created=False, email=normalized)
        generated = self._secrets.password() if password is None else None
        draft = UserDraft(
            email=normalized,
            password=password if password is not None else str(generated),
            full_name=full_name,
            role=Role.SUPERADMIN,
            is_superuser=True,
        )
        try:
            await self._create.execute(draft, actor=None)
        except Conflict:
            # Another process bootstrapped the same account a moment ago.
            return BootstrapResult(created=False, email=normalized)
        return BootstrapResult(created=True, email=normalized, generated_password=generated)


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("administrator role required")


__all__ = [
    "AccessToken",
    "Authenticate",
    "BootstrapResult",
    "BootstrapSuperadmin",
    "CreateUser",
    "DeleteUser",
    "ListUsers",
    "Login",
    "SignUp",
    "UpdateUser",
    "UserChanges",
    "UserDraft",
]

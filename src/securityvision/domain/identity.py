"""Users, their roles, and who may grant what."""

import re
from datetime import datetime
from enum import StrEnum

import msgspec

from securityvision.domain.errors import InvalidInput, PermissionDenied

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class Role(StrEnum):
    SUPERADMIN = "SUPERADMIN"
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    VIEWER = "VIEWER"


# Higher rank may do everything a lower rank may.
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.SUPERADMIN: 3}


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    full_name: str | None
    hashed_password: str
    role: Role
    is_active: bool
    is_superuser: bool
    chatwoot_agent_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def effective_role(self) -> Role:
        """The role that governs access: ``is_superuser`` (the original's flag) is SUPERADMIN."""
        return Role.SUPERADMIN if self.is_superuser else self.role

    @property
    def is_admin(self) -> bool:
        return self.has_at_least(Role.ADMIN)

    @property
    def is_super(self) -> bool:
        return self.effective_role is Role.SUPERADMIN

    def has_at_least(self, role: Role) -> bool:
        return _RANK[self.effective_role] >= _RANK[role]


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user about to be stored: the password is already hashed."""

    email: str
    full_name: str | None
    hashed_password: str
    role: Role = Role.OPERATOR
    is_active: bool = True
    is_superuser: bool = False
    chatwoot_agent_id: int | None = None


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding blanks."""
    normalized = email.strip().lower()
    if not _EMAIL.match(normalized) or len(normalized) > 254:
        raise InvalidInput("email is not a valid e-mail address", code="invalid_email")
    return normalized


def check_password_policy(password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"password must have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
            code="weak_password",
        )


def grants_superadmin(role: Role, is_superuser: bool) -> bool:
    return role is Role.SUPERADMIN or is_superuser


def check_may_grant(actor: User | None, role: Role, is_superuser: bool) -> None:
    """Only a SUPERADMIN (or the system itself, ``actor=None``) mints or promotes SUPERADMINs.

    An ADMIN manages everyone below SUPERADMIN; nobody below ADMIN manages users at all.
    """
    if actor is None:
        return
    if not actor.is_admin:
        raise PermissionDenied("only administrators manage users")
    if grants_superadmin(role, is_superuser) and not actor.is_super:
        raise PermissionDenied(
            "only a SUPERADMIN may create or promote a SUPERADMIN", code="role_not_grantable"
        )


def check_may_manage(actor: User | None, target: User) -> None:
    """An ADMIN may not change or delete a SUPERADMIN account."""
    if actor is None:
        return
    if not actor.is_admin:
        raise PermissionDenied("only administrators manage users")
    if target.is_super and not actor.is_super:
        raise PermissionDenied(
            "only a SUPERADMIN may change a SUPERADMIN account", code="target_not_manageable"
        )

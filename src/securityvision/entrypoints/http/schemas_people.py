"""HTTP bodies of ``/people`` and ``/person-groups``, in the original's wire shapes."""

from datetime import datetime

import msgspec

from securityvision.application.people import (
    GroupChanges,
    GroupDraft,
    GroupWithMembers,
    PersonChanges,
    PersonDetails,
    PersonDraft,
)
from securityvision.domain.errors import InvalidInput
from securityvision.domain.people import PersonGroup

_UNSET = msgspec.UNSET


class PersonCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The original accepted ``name`` for ``full_name`` and ``cpf`` for ``document_id``."""

    full_name: str | None = None
    name: str | None = None
    document_id: str | None = None
    cpf: str | None = None
    email: str | None = None
    phone: str | None = None
    user_type: int | None = None
    active: bool = True
    notes: str | None = None
    group_ids: list[int] | None = None

    def draft(self) -> PersonDraft:
        full_name = self.full_name if self.full_name is not None else self.name
        if full_name is None:
            raise InvalidInput("full_name (or name) is required", code="full_name_required")
        return PersonDraft(
            full_name=full_name,
            document_id=self.document_id if self.document_id is not None else self.cpf,
            email=self.email,
            phone=self.phone,
            user_type=self.user_type,
            active=self.active,
            notes=self.notes,
            group_ids=None if self.group_ids is None else tuple(self.group_ids),
        )


class PersonUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change (the front end sends ``{group_ids}`` alone)."""

    full_name: str | msgspec.UnsetType = _UNSET
    name: str | msgspec.UnsetType = _UNSET
    document_id: str | msgspec.UnsetType | None = _UNSET
    cpf: str | msgspec.UnsetType | None = _UNSET
    email: str | msgspec.UnsetType | None = _UNSET
    phone: str | msgspec.UnsetType | None = _UNSET
    user_type: int | msgspec.UnsetType | None = _UNSET
    active: bool | msgspec.UnsetType = _UNSET
    notes: str | msgspec.UnsetType | None = _UNSET
    group_ids: list[int] | msgspec.UnsetType = _UNSET

    def changes(self) -> PersonChanges:
        return PersonChanges(
            full_name=(
                self.name if isinstance(self.full_name, msgspec.UnsetType) else self.full_name
            ),
            document_id=(
                self.cpf if isinstance(self.document_id, msgspec.UnsetType) else self.document_id
            ),
            email=self.email,
            phone=self.phone,
            user_type=self.user_type,
            active=self.active,
            notes=self.notes,
            group_ids=(
                _UNSET if isinstance(self.group_ids, msgspec.UnsetType) else tuple(self.group_ids)
            ),
        )


class GroupRef(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str


class PersonRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    full_name: str
    document_id: str | None
    cpf: str | None
    email: str | None
    phone: str | None
    user_type: int | None
    active: bool
    status: str
    notes: str | None
    groups: list[GroupRef]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, details: PersonDetails) -> "PersonRead":
        person = details.person
        return cls(
            id=person.id,
            full_name=person.full_name,
            document_id=person.document_id,
            cpf=person.document_id,
            email=person.email,
            phone=person.phone,
            user_type=person.user_type,
            active=person.active,
            status=person.status,
            notes=person.notes,
            groups=[GroupRef(id=g.id, name=g.name) for g in details.groups],
            created_at=person.created_at,
            updated_at=person.updated_at,
        )


class PersonGroupCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None

    def draft(self) -> GroupDraft:
        return GroupDraft(name=self.name, description=self.description)


class PersonGroupUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET

    def changes(self) -> GroupChanges:
        return GroupChanges(name=self.name, description=self.description)


class PersonGroupRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, group: PersonGroup) -> "PersonGroupRead":
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            created_at=group.created_at,
            updated_at=group.updated_at,
        )


class PersonGroupWithMembersRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    people: list[PersonRead]

    @classmethod
    def of(cls, found: GroupWithMembers) -> "PersonGroupWithMembersRead":
        group = found.group
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            created_at=group.created_at,
            updated_at=group.updated_at,
            people=[PersonRead.of(p) for p in found.people],
        )


class GroupMembersUpdate(msgspec.Struct, frozen=True, kw_only=True):
    people_ids: list[int]

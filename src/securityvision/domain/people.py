"""People who wear tags, and the groups that rules and reports address them by."""

from datetime import datetime

import msgspec

from securityvision.domain.errors import InvalidInput

FULL_NAME_MAX_LENGTH = 255
DOCUMENT_ID_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 32
GROUP_NAME_MAX_LENGTH = 255


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """Someone tracked by the control room (an employee, a visitor, a contractor)."""

    id: int
    full_name: str
    document_id: str | None = None
    email: str | None = None
    phone: str | None = None
    user_type: int | None = None
    active: bool = True
    notes: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def status(self) -> str:
        """The original exposed ``active`` also as a status word; access control reads it."""
        return "ACTIVE" if self.active else "INACTIVE"


class NewPerson(msgspec.Struct, frozen=True, kw_only=True):
    full_name: str
    document_id: str | None = None
    email: str | None = None
    phone: str | None = None
    user_type: int | None = None
    active: bool = True
    notes: str | None = None


class PersonGroup(msgspec.Struct, frozen=True, kw_only=True):
    """A named set of people (a shift, a contractor company) that rules and reports target."""

    id: int
    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime


class NewPersonGroup(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None


def check_person(person: NewPerson | Person) -> None:
    """A person needs a name; every text fits its column, so storage never truncates."""
    if not person.full_name.strip():
        raise InvalidInput("full_name (or name) is required", code="full_name_required")
    check_length("full_name", person.full_name, FULL_NAME_MAX_LENGTH)
    check_length("document_id", person.document_id, DOCUMENT_ID_MAX_LENGTH)
    check_length("email", person.email, EMAIL_MAX_LENGTH)
    check_length("phone", person.phone, PHONE_MAX_LENGTH)


def check_group(group: NewPersonGroup | PersonGroup) -> None:
    if not group.name.strip():
        raise InvalidInput("name is required", code="name_required")
    check_length("name", group.name, GROUP_NAME_MAX_LENGTH)


def check_length(field: str, value: str | None, limit: int) -> None:
    """Refuse a text longer than its column, naming the field, instead of a storage error."""
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{field} must have at most {limit} characters", code="too_long")

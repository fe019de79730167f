"""The ports of cameras and incidents: camera events, camera groups and credentials, support
groups, incident rules, incidents and their timeline.

Kept beside ``ports.py`` (whose ``UnitOfWork`` exposes them) so that file stays about the
RTLS register; the in-memory and PostgreSQL adapters pass the same contract suite.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from securityvision.domain.cameras import CameraGroup, DeviceEvent, NewCameraGroup, NewDeviceEvent
from securityvision.domain.identity import User
from securityvision.domain.incident_rules import (
    IncidentRule,
    NewIncidentRule,
    NewSupportGroup,
    SupportGroup,
)
from securityvision.domain.incidents import (
    Incident,
    IncidentMessage,
    NewIncident,
    NewIncidentMessage,
)


class DeviceEventRepository(Protocol):
    """What cameras reported (``device_events``)."""

    async def add(self, event: NewDeviceEvent) -> DeviceEvent:
        """Raises ``Conflict(code="device_event_exists")`` when the camera already has an
        event of that analytic type and ``event_id``, and ``NotFound(code="device_not_found")``
        for a device that does not exist."""
        ...

    async def get(self, event_id: int) -> DeviceEvent | None: ...

    async def list_for_device(self, device_id: int, *, limit: int = 100) -> Sequence[DeviceEvent]:
        """The camera's events, newest first (``occurred_at``, then id)."""
        ...

    async def with_event_id(self, device_id: int, event_id: str) -> Sequence[DeviceEvent]:
        """The camera's events carrying that publisher id (a capture and the recognition
        that repeats its id), oldest first."""
        ...

    async def set_incident(self, event_id: int, incident_id: int) -> None:
        """Record the incident the event opened, joined or enriched."""
        ...


class DeviceSecretRepository(Protocol):
    """Devices' credentials, encrypted (``devices.password_encrypted``): apart from the
    device itself, so no read of a device can carry them."""

    async def set_password(self, device_id: int, encrypted: bytes | None) -> None: ...

    async def password(self, device_id: int) -> bytes | None: ...


class CameraGroupRepository(Protocol):
    """Named groups of cameras (``camera_groups``, ``camera_group_devices``)."""

    async def add(self, group: NewCameraGroup) -> CameraGroup:
        """Raises ``Conflict(code="camera_group_name_taken")``."""
        ...

    async def get(self, group_id: int) -> CameraGroup | None: ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[CameraGroup]:
        """Groups ordered by id, each with its devices in id order."""
        ...

    async def update(self, group: CameraGroup) -> CameraGroup:
        """Persist name, description and tenant; raises ``camera_group_name_taken``."""
        ...

    async def set_devices(self, group_id: int, device_ids: Collection[int]) -> None:
        """Make exactly ``device_ids`` (all existing) the group's devices."""
        ...

    async def delete(self, group_id: int) -> bool:
        """Remove the group (not its cameras); rules scoped to it go with it."""
        ...

    async def groups_of_device(self, device_id: int) -> Sequence[int]:
        """Ids of the groups the device is in, ascending."""
        ...


class SupportGroupRepository(Protocol):
    """Teams that incidents are assigned to, and their members (users)."""

    async def add(self, group: NewSupportGroup) -> SupportGroup:
        """Raises ``Conflict(code="support_group_name_taken")``."""
        ...

    async def get(self, group_id: int) -> SupportGroup | None: ...

    async def get_many(self, group_ids: Collection[int]) -> Sequence[SupportGroup]:
        """Those of ``group_ids`` that exist, ordered by id."""
        ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[SupportGroup]:
        """Groups ordered by id, each with its members' ids."""
        ...

    async def update(self, group: SupportGroup) -> SupportGroup:
        """Persist every field but the members; raises ``support_group_name_taken``."""
        ...

    async def set_members(self, group_id: int, user_ids: Collection[int]) -> None:
        """Make exactly ``user_ids`` (all existing) the group's members."""
        ...

    async def delete(self, group_id: int) -> bool:
        """Remove the group and its memberships; rules assigned to it lose the group."""
        ...

    async def groups_of_user(self, user_id: int) -> Sequence[int]:
        """Ids of the groups the user belongs to, ascending."""
        ...


class IncidentRuleRepository(Protocol):
    async def add(self, rule: NewIncidentRule) -> IncidentRule: ...

    async def get(self, rule_id: int) -> IncidentRule | None: ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[IncidentRule]:
        """Rules ordered by id."""
        ...

    async def for_analytic_type(self, analytic_type: str) -> Sequence[IncidentRule]:
        """The enabled rules of that analytic type (exact), ordered by id."""
        ...

    async def update(self, rule: IncidentRule) -> IncidentRule: ...

    async def delete(self, rule_id: int) -> bool: ...


class IncidentRepository(Protocol):
    """Incidents and who is assigned to them (``incidents``, ``incident_assignees``)."""

    async def add(self, incident: NewIncident) -> Incident:
        """Raises ``Conflict(code="incident_exists")`` when the device event already has an
        incident (one event, one incident)."""
        ...

    async def get(self, incident_id: int) -> Incident | None: ...

    async def get_for_update(self, incident_id: int) -> Incident | None:
        """The incident, held against concurrent writers until the unit of work ends."""
        ...

    async def for_device_event(self, device_event_id: int) -> Incident | None: ...

    async def list(
        self,
        *,
        only_open: bool = False,
        device_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[Incident]:
        """Newest first (id descending); the filters apply before paging. Open means OPEN or
        IN_PROGRESS."""
        ...

    async def list_for_user(
        self, user_id: int, *, only_open: bool = False, skip: int = 0, limit: int = 100
    ) -> Sequence[Incident]:
        """The incidents a user should work, newest first: assigned to them, naming them
        among the assignees, assigned to a support group of theirs, or assigned to nobody at
        all (no user, no group, no assignee)."""
        ...

    async def open_for_cooldown(
        self, *, device_id: int, rule_id: int, person_key: str, since: datetime
    ) -> Incident | None:
        """The newest open incident the pipeline opened for that camera, rule and person whose
        last event came at or after ``since``."""
        ...

    async def update(self, incident: Incident) -> Incident:
        """Persist every field; ``updated_at`` as given."""
        ...

    async def set_assignees(self, incident_id: int, user_ids: Collection[int]) -> None:
        """Make exactly ``user_ids`` (all existing) the incident's assignees."""
        ...

    async def assignees(self, incident_ids: Collection[int]) -> Mapping[int, Sequence[User]]:
        """Each incident's assignees ordered by id; incidents with none are absent."""
        ...

    async def count_for_group(self, group_id: int) -> int:
        """How many incidents are assigned to the support group."""
        ...


class IncidentMessageRepository(Protocol):
    """An incident's timeline (``incident_messages``)."""

    async def add(self, message: NewIncidentMessage) -> IncidentMessage: ...

    async def list(
        self, incident_id: int, *, after_id: int | None = None, limit: int = 500
    ) -> Sequence[IncidentMessage]:
        """Oldest first (id ascending), only ids above ``after_id`` when given."""
        ...


class SecretCipher(Protocol):
    """Authenticated encryption of secrets kept at rest (camera passwords)."""

    def encrypt(self, secret: str) -> bytes: ...

    def decrypt(self, token: bytes) -> str:
        """Raises ``StorageError`` when ``token`` was not made with this key or was altered."""
        ...

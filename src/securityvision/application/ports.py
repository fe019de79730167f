"""The ports: what the use cases need from the world, each named by its role.

Adapters implement these Protocols; the in-memory ones and the PostgreSQL ones pass the same
contract suite (tests/contract).
"""

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

import msgspec

from securityvision.application.alert_ports import (
    AlertEventRepository,
    AlertRuleRepository,
    WebhookSubscriptionRepository,
)
from securityvision.application.cambus_ports import (
    CameraPublicationRepository,
    CameraUplinkRepository,
)
from securityvision.application.chatwoot_ports import ChatwootStore
from securityvision.application.incident_ports import (
    CameraGroupRepository,
    DeviceEventRepository,
    DeviceSecretRepository,
    IncidentMessageRepository,
    IncidentRepository,
    IncidentRuleRepository,
    SupportGroupRepository,
)
from securityvision.domain.devices import Device, DeviceStatusEvent, DeviceType, NewDevice
from securityvision.domain.events import LiveEvent
from securityvision.domain.identity import NewUser, Role, User
from securityvision.domain.media import CheckedImage, MediaKind, StoredMedia
from securityvision.domain.outbox import NewOutboxMessage, OutboxBacklog, OutboxMessage
from securityvision.domain.people import NewPerson, NewPersonGroup, Person, PersonGroup
from securityvision.domain.presence import PresenceSession, Sighting, TagPosition
from securityvision.domain.rtls import CollectionLog, NewCollectionLog, NewTag, Tag, UnknownTag
from securityvision.domain.sites import (
    Building,
    DeviceUser,
    Floor,
    FloorPlan,
    Location,
    LocationRule,
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
)


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


class PersonRepository(Protocol):
    """People who wear tags, keyed by id."""

    async def add(self, person: NewPerson) -> Person: ...

    async def get(self, person_id: int) -> Person | None: ...

    async def get_many(self, person_ids: Collection[int]) -> Sequence[Person]:
        """Those of ``person_ids`` that exist, ordered by id."""
        ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Person]:
        """People ordered by id."""
        ...

    async def update(self, person: Person) -> Person:
        """Persist every field of ``person``; ``updated_at`` is set by the repository."""
        ...

    async def delete(self, person_id: int) -> bool:
        """Remove the person and their group memberships; their tags stay, assigned to nobody.
        False when there was none."""
        ...


class PersonGroupRepository(Protocol):
    """Groups of people and who belongs to them."""

    async def add(self, group: NewPersonGroup) -> PersonGroup:
        """Raises ``Conflict(code="person_group_name_taken")`` on a duplicate name."""
        ...

    async def get(self, group_id: int) -> PersonGroup | None: ...

    async def get_many(self, group_ids: Collection[int]) -> Sequence[PersonGroup]:
        """Those of ``group_ids`` that exist, ordered by id."""
        ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[PersonGroup]:
        """Groups ordered by id."""
        ...

    async def update(self, group: PersonGroup) -> PersonGroup:
        """Persist every field; raises ``Conflict(code="person_group_name_taken")``."""
        ...

    async def delete(self, group_id: int) -> bool:
        """Remove the group and its memberships (not its people)."""
        ...

    async def members(self, group_id: int) -> Sequence[Person]:
        """The group's people, ordered by id."""
        ...

    async def set_members(self, group_id: int, person_ids: Collection[int]) -> None:
        """Make exactly ``person_ids`` (all existing) the group's members."""
        ...

    async def groups_of(self, person_ids: Collection[int]) -> Mapping[int, Sequence[PersonGroup]]:
        """Each person's groups, ordered by id; people in no group are absent."""
        ...

    async def set_groups_of(self, person_id: int, group_ids: Collection[int]) -> None:
        """Make exactly ``group_ids`` (all existing) the person's groups."""
        ...


class TagRepository(Protocol):
    """Registered tags, keyed by id and by normalized MAC."""

    async def add(self, tag: NewTag) -> Tag:
        """Raises ``Conflict(code="tag_mac_taken")`` on a MAC already registered."""
        ...

    async def get(self, tag_id: int) -> Tag | None: ...

    async def get_by_mac(self, mac_address: str) -> Tag | None:
        """Look up by an already normalized MAC."""
        ...

    async def list(
        self, *, person_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Tag]:
        """Tags ordered by id; ``person_id`` filters before ``skip`` and ``limit`` apply."""
        ...

    async def update(self, tag: Tag) -> Tag:
        """Persist every field; raises ``Conflict(code="tag_mac_taken")``."""
        ...

    async def delete(self, tag_id: int) -> bool:
        """Remove the tag and its readings (readings carry no foreign key to cascade)."""
        ...


class UnknownTagRepository(Protocol):
    """MACs heard by gateways that no registered tag has (written by the ingest path)."""

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[UnknownTag]:
        """Most recently heard first, each with the name of the gateway that heard it last."""
        ...


class DeviceRepository(Protocol):
    """Gateways, cameras and access controllers."""

    async def add(self, device: NewDevice) -> Device:
        """Raises ``Conflict`` (``device_code_taken``, ``device_mac_taken``) on a duplicate, and
        ``NotFound`` (``floor_plan_not_found``, ``building_not_found``, ...) when a placement
        names a site that does not exist (where the store knows the sites)."""
        ...

    async def get(self, device_id: int) -> Device | None: ...

    async def get_for_update(self, device_id: int) -> Device | None:
        """The device, held against concurrent writers until the unit of work ends, so that
        what is decided about it (deleting it with its readings) stays true."""
        ...

    async def list(
        self,
        *,
        type: DeviceType | None = None,
        floor_plan_id: int | None = None,
        floor_id: int | None = None,
        skip: int = 0,
        limit: int | None = 100,
    ) -> Sequence[Device]:
        """Devices ordered by id, of ``type``, on ``floor_plan_id`` and on ``floor_id`` if
        given (filtered by the store, before paging); ``limit`` None is all."""
        ...

    async def find_camera(self, code: str) -> Device | None:
        """The camera whose code is ``code``, compared without regard to case (cam-bus puts
        the camera's code, or its slug, in its topics)."""
        ...

    async def find_by_mac(self, mac_address: str) -> Sequence[Device]:
        """Devices whose stored ``mac_address`` equals ``mac_address`` (already in stored
        form), ordered by id."""
        ...

    async def update(self, device: Device) -> Device:
        """Persist every field the operator sets (not ``reported_online``), with the errors of
        ``add``; ``updated_at`` is set by the repository."""
        ...

    async def delete(self, device_id: int) -> bool:
        """Remove the device and its readings; unknown tags it heard last forget it, its
        status events go with it."""
        ...


class CollectionLogRepository(Protocol):
    """Stored readings (``collection_logs``), newest first."""

    async def add(self, log: NewCollectionLog) -> CollectionLog:
        """Store one reading; raises ``Conflict(code="reading_exists")`` when the same tag was
        already read by the same device at the same instant (a reading's identity)."""
        ...

    async def get(self, log_id: int) -> CollectionLog | None: ...

    async def list(
        self,
        *,
        device_id: int | None = None,
        tag_id: int | None = None,
        from_ts: datetime | None = None,
        to_ts: datetime | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[CollectionLog]:
        """Readings newest first (``created_at``, then id); every filter applies before
        paging; ``from_ts`` and ``to_ts`` are inclusive."""
        ...

    async def delete(self, log_id: int) -> bool: ...

    async def has_for_device(self, device_id: int) -> bool: ...

    async def delete_for_device(self, device_id: int) -> int:
        """Remove every reading of the device; returns how many there were."""
        ...


class GatewaySighting(msgspec.Struct, frozen=True, kw_only=True):
    """A gateway heard from in a batch: registered on first sight.

    ``last_active_at`` is when it was last heard doing anything (None when all it sent was an
    offline report — a broker's last will speaks for a gateway that is gone, it is not the
    gateway's own activity); ``last_offline_at`` when it last reported itself offline.
    """

    key: str
    mac: str | None
    last_active_at: datetime | None = None
    last_offline_at: datetime | None = None
    tenant: str | None = None
    building: str | None = None
    floor: str | None = None

    @property
    def online(self) -> bool | None:
        """What the batch says of the gateway in the end: the later of activity and an
        offline report wins."""
        if self.last_offline_at is None:
            return None if self.last_active_at is None else True
        return self.last_active_at is not None and self.last_active_at > self.last_offline_at


class ReadingRow(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    device_id: int
    tag_id: int
    rssi: int
    ts: datetime
    received_at: datetime
    raw_payload: str | None


class UnknownTagSighting(msgspec.Struct, frozen=True, kw_only=True):
    mac: str
    device_id: int
    rssi: int
    seen_at: datetime
    count: int


class IngestStore(Protocol):
    """The hot path of RTLS ingestion: set-based reads and writes for a whole batch."""

    async def first_received(
        self, receipts: Mapping[bytes, tuple[datetime, bool]]
    ) -> Mapping[bytes, datetime]:
        """Record when each message (by fingerprint) was received and answer when it was
        *first* received: a new message (flag False) takes its own time, a redelivered one
        (flag True) the time recorded when it first came, if that was committed."""
        ...

    async def forget_receipts(self, fingerprints: Sequence[bytes]) -> None:
        """Drop receipts of messages acknowledged to the broker: no redelivery will come."""
        ...

    async def register_gateways(self, sightings: Sequence[GatewaySighting]) -> Mapping[str, int]:
        """Device ids by gateway key, registering unknown gateways (``Gateway <MAC>``,
        ``GW_<MAC>``; building and floor from the topic only for a new gateway) and moving
        ``last_seen_at`` forward to ``last_active_at``."""
        ...

    async def tag_ids(self, macs: Iterable[str], *, register: bool) -> Mapping[str, int]:
        """Ids of the registered tags among ``macs``; with ``register`` the others are
        registered first."""
        ...

    async def add_readings(self, rows: Sequence[ReadingRow]) -> Sequence[ReadingRow]:
        """Store the readings not stored yet; returns those that were new."""
        ...

    async def record_unknown_tags(self, sightings: Sequence[UnknownTagSighting]) -> None: ...

    async def apply_transitions(
        self, online: Sequence[int], offline: Sequence[int], at: datetime
    ) -> tuple[list[int], list[int]]:
        """Persist on/offline transitions of these gateways, recording an event for each one
        whose known state changes; returns the ids that went online and those that went
        offline."""
        ...

    async def mark_silent_offline(self, silent_since: datetime, at: datetime) -> list[int]:
        """Gateways known online but not heard from since ``silent_since`` become offline
        (recording the transition); returns their ids."""
        ...

    async def prune_receipts(self, before: datetime) -> int:
        """Forget message receipts older than ``before`` (no redelivery comes that late)."""
        ...

    async def status_events(self, *, after_id: int = 0) -> Sequence[DeviceStatusEvent]:
        """Recorded on/offline transitions with ids above ``after_id``, oldest first."""
        ...


class PresenceStore(Protocol):
    """Sessions and positions, read and replaced inside the ingest batch's transaction."""

    async def lock_tags(self, tag_ids: Iterable[int]) -> None:
        """Hold these tags' presence until the transaction ends (another worker may be
        ingesting readings of the same tags)."""
        ...

    async def claim(self, lane: int | None = None) -> tuple[int | None, int]:
        """Take presence for the rest of the transaction (other writers wait until it ends)
        and answer which transaction wrote presence last before this one, and this one's id:
        what transaction ``t`` wrote is still what is stored exactly when the next claim says
        ``t`` wrote last (a transaction rolled back never did).

        ``lane``: only the tags of that lane (``tag_id % PRESENCE_LANES``) are written, and
        only writers of that lane wait; None (every lane) answers ``t`` only if ``t`` wrote
        every lane last."""
        ...

    async def sessions_near(
        self, sightings: Sequence[Sighting], gap: timedelta
    ) -> Sequence[PresenceSession]:
        """Stored sessions of the sightings' (tag, gateway) reaching within ``gap`` of them."""
        ...

    async def replace_sessions(
        self,
        replaced: Sequence[int],
        added: Sequence[PresenceSession],
        updated: Sequence[PresenceSession] = (),
    ) -> None:
        """Delete ``replaced``, insert ``added``, and rewrite ``updated`` (by id) in place."""
        ...

    async def extend_sessions(
        self, runs: Sequence[PresenceSession], gap: timedelta
    ) -> Sequence[tuple[int, int]]:
        """The common case of ingest in one pass: each run (new readings of one (tag,
        gateway) within one day and no gap wider than ``gap``; one run per (tag, gateway)) is
        compared with that pair's latest stored session. A run starting within ``gap`` of its
        end (or inside it) on its day extends it; a run starting later, or on a later day, or
        of a pair without sessions, is a new session. Returns the (tag, gateway)s of the runs
        that start before their latest session (late readings), left untouched for
        ``sessions_near`` and ``merge_sessions``."""
        ...

    async def positions(self, tag_ids: Iterable[int]) -> Mapping[int, TagPosition]: ...

    async def save_positions(self, positions: Iterable[TagPosition]) -> None: ...


class Outbox(Protocol):
    """Messages to the outside world (domain/outbox.py), added in the unit of work of the
    change that caused them and taken out by the relay once delivered."""

    async def add(self, message: NewOutboxMessage) -> int:
        """Store a message to deliver once the unit of work commits; returns its id. Ids grow
        in the order messages are added: the order of delivery within a destination."""
        ...

    async def due(self, channel: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        """The messages of ``channel`` to attempt now, in id order, at most ``limit``.

        A destination with a message waiting for a retry is held back whole, so a later
        message never overtakes an earlier one of the same destination.
        """
        ...

    async def mark_delivered(self, message_ids: Collection[int]) -> None:
        """Delivered: these messages leave the outbox."""
        ...

    async def mark_failed(self, message_id: int, *, error: str, retry_in: timedelta) -> None:
        """Count a failed attempt, remember why (``error`` holds no secret) and hold the message
        (and so its destination) back for ``retry_in``."""
        ...

    async def mark_dead(self, message_id: int, *, error: str) -> None:
        """Refused for good: the message becomes a dead letter, kept with ``error`` (no
        secret) for the operators, never attempted again, and no longer holding its
        destination back."""
        ...

    async def backlog(self, channel: str | None = None) -> OutboxBacklog:
        """How many messages wait (of ``channel``, or of all), how old the oldest is, and how
        many dead letters there are."""
        ...


class Lease(Protocol):
    async def held(self) -> bool:
        """Whether the lock is still ours (losing the connection that holds it loses it)."""
        ...


class Locks(Protocol):
    """Named locks shared by every process on the system of record: one holder at a time
    (one outbox relay per channel, whatever the number of API processes)."""

    def try_hold(self, name: str) -> AbstractAsyncContextManager[Lease | None]:
        """Hold ``name`` for the ``async with`` block if nobody does (a ``Lease``), else
        ``None`` at once."""
        ...


class Publisher(Protocol):
    """Delivers the outbox messages of one channel (MQTT: to the broker)."""

    @property
    def connected(self) -> bool: ...

    async def start(self) -> None:
        """Connect, and keep reconnecting with backoff, in the background; returns at once."""
        ...

    async def stop(self) -> None: ...

    async def wait_connected(self, within: float) -> bool:
        """Wait up to ``within`` seconds for a connection; whether there is one."""
        ...

    async def publish(self, message: OutboxMessage) -> None:
        """Deliver ``message`` and return once its destination acknowledged it (MQTT QoS 1:
        the PUBACK); raises ``DeliveryFailed`` otherwise."""
        ...


class RelayObserver(Protocol):
    """What a relay reports as it goes (metrics)."""

    def delivered(self, channel: str) -> None: ...

    def failed(self, channel: str) -> None: ...

    def rejected(self, channel: str) -> None: ...

    def backlog(self, channel: str, backlog: OutboxBacklog) -> None: ...

    def state(self, channel: str, *, active: bool, connected: bool) -> None: ...


class BuildingRepository(Protocol):
    """Buildings, keyed by id and by their unique code."""

    async def add(self, building: NewBuilding) -> Building:
        """Raises ``Conflict(code="building_code_taken")`` on a duplicate code."""
        ...

    async def get(self, building_id: int) -> Building | None: ...

    async def get_by_code(self, code: str) -> Building | None:
        """Look up by the exact code."""
        ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Building]:
        """Buildings ordered by id."""
        ...

    async def update(self, building: Building) -> Building:
        """Persist every field; raises ``Conflict(code="building_code_taken")``."""
        ...

    async def delete(self, building_id: int) -> SiteDeletion | None:
        """Remove the building with its floors and their plans; devices on any of them stay,
        taken off (placement and position cleared); locations lose the floors. None when
        there was none."""
        ...


class FloorRepository(Protocol):
    """Floors of buildings."""

    async def add(self, floor: NewFloor) -> Floor:
        """Raises ``NotFound(code="building_not_found")``."""
        ...

    async def get(self, floor_id: int) -> Floor | None: ...

    async def get_many(self, floor_ids: Collection[int]) -> Sequence[Floor]:
        """Those of ``floor_ids`` that exist, ordered by id."""
        ...

    async def list(
        self, *, building_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Floor]:
        """Floors ordered by id, of ``building_id`` if given (before paging)."""
        ...

    async def update(self, floor: Floor) -> Floor:
        """Persist every field; raises ``NotFound(code="building_not_found")``."""
        ...

    async def delete(self, floor_id: int) -> SiteDeletion | None:
        """Remove the floor with its plans; devices on them stay, taken off; locations lose
        the floor. None when there was none."""
        ...


class FloorPlanRepository(Protocol):
    """Floor plans, each read with the building of its floor."""

    async def add(self, plan: NewFloorPlan) -> FloorPlan:
        """Raises ``NotFound(code="floor_not_found")``."""
        ...

    async def get(self, plan_id: int) -> FloorPlan | None: ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[FloorPlan]:
        """Plans ordered by id."""
        ...

    async def in_building(self, building_id: int) -> Sequence[FloorPlan]:
        """The plans of every floor of the building, ordered by name, then id."""
        ...

    async def update(self, plan: FloorPlan) -> FloorPlan:
        """Persist every field but the derived ``building_id``; raises
        ``NotFound(code="floor_not_found")``."""
        ...

    async def delete(self, plan_id: int) -> SiteDeletion | None:
        """Remove the plan; devices on it stay, taken off (plan and position cleared)."""
        ...


class LocationRepository(Protocol):
    """Access-control locations and the floors each spans."""

    async def add(self, location: NewLocation) -> Location:
        """Store the location with exactly its ``floor_ids`` (all existing)."""
        ...

    async def get(self, location_id: int) -> Location | None: ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Location]:
        """Locations ordered by id, each with its floors in id order."""
        ...

    async def update(self, location: Location) -> Location:
        """Persist every field; ``floor_ids`` (all existing) replaces the floors."""
        ...

    async def delete(self, location_id: int) -> SiteDeletion | None:
        """Remove the location with its rules; devices in it stay, with no location."""
        ...


class LocationRuleRepository(Protocol):
    """When and how many people a location admits."""

    async def add(self, rule: NewLocationRule) -> LocationRule:
        """Raises ``NotFound(code="location_not_found")``."""
        ...

    async def get(self, rule_id: int) -> LocationRule | None: ...

    async def list(self, *, location_id: int) -> Sequence[LocationRule]:
        """The location's rules, ordered by id."""
        ...

    async def update(self, rule: LocationRule) -> LocationRule:
        """Persist every field; raises ``NotFound(code="location_not_found")``."""
        ...

    async def delete(self, rule_id: int) -> LocationRule | None:
        """Remove the rule and return it as it was; None when there was none."""
        ...


class DeviceUserRepository(Protocol):
    """People enrolled on access controllers (``device_users``)."""

    async def add(self, user: NewDeviceUser) -> DeviceUser:
        """Raises ``NotFound`` (``device_not_found``, ``person_not_found``) and
        ``Conflict(code="device_user_id_taken")`` when the device already knows someone by
        that ``device_user_id``."""
        ...

    async def get(self, device_user_id: int) -> DeviceUser | None: ...

    async def list(
        self,
        *,
        device_id: int | None = None,
        person_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[DeviceUser]:
        """Enrolments ordered by id; the filters apply before ``skip`` and ``limit``."""
        ...

    async def update(self, user: DeviceUser) -> DeviceUser:
        """Persist every field, with the errors of ``add``."""
        ...

    async def delete(self, device_user_id: int) -> DeviceUser | None:
        """Remove the enrolment and return it as it was; None when there was none."""
        ...


class MediaStore(Protocol):
    """Where checked images are kept, by content hash, to be served publicly by that name.

    Floor-plan images use it now, incident snapshots and attachments next (``MediaKind``).
    """

    async def save(self, image: CheckedImage, kind: MediaKind) -> StoredMedia:
        """Keep the image under ``<kind>/<sha256>.<ext>`` (the same image is kept once), the
        file appearing whole or not at all."""
        ...

    async def read(self, kind: MediaKind, file_name: str) -> bytes | None:
        """The stored image of that exact name, or None (for any name it could not have
        written, too)."""
        ...


class EventSource(Protocol):
    """Committed live events, as they come (one listener per process)."""

    def stream(self) -> AsyncIterator[LiveEvent]: ...


class EventLog(Protocol):
    """Live events raised by a unit of work: told to listeners only if it commits."""

    async def publish(self, *events: LiveEvent) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: rolled back unless ``commit()`` was called."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def people(self) -> PersonRepository: ...

    @property
    def person_groups(self) -> PersonGroupRepository: ...

    @property
    def tags(self) -> TagRepository: ...

    @property
    def unknown_tags(self) -> UnknownTagRepository: ...

    @property
    def devices(self) -> DeviceRepository: ...

    @property
    def collection_logs(self) -> CollectionLogRepository: ...

    @property
    def buildings(self) -> BuildingRepository: ...

    @property
    def floors(self) -> FloorRepository: ...

    @property
    def floor_plans(self) -> FloorPlanRepository: ...

    @property
    def locations(self) -> LocationRepository: ...

    @property
    def location_rules(self) -> LocationRuleRepository: ...

    @property
    def device_users(self) -> DeviceUserRepository: ...

    @property
    def ingest(self) -> IngestStore: ...

    @property
    def presence(self) -> PresenceStore: ...

    @property
    def outbox(self) -> Outbox: ...

    # Cameras and incidents (incident_ports.py).
    @property
    def device_events(self) -> DeviceEventRepository: ...

    @property
    def device_secrets(self) -> DeviceSecretRepository: ...

    @property
    def camera_groups(self) -> CameraGroupRepository: ...

    @property
    def support_groups(self) -> SupportGroupRepository: ...

    @property
    def incident_rules(self) -> IncidentRuleRepository: ...

    @property
    def incidents(self) -> IncidentRepository: ...

    @property
    def incident_messages(self) -> IncidentMessageRepository: ...

    # Chatwoot (chatwoot_ports.py).
    @property
    def chatwoot(self) -> ChatwootStore: ...

    # Publishing to cam-bus (cambus_ports.py).
    @property
    def camera_publications(self) -> CameraPublicationRepository: ...

    @property
    def camera_uplinks(self) -> CameraUplinkRepository: ...
    # Alerts and outbound webhooks (alert_ports.py).
    @property
    def alert_rules(self) -> AlertRuleRepository: ...

    @property
    def alert_events(self) -> AlertEventRepository: ...

    @property
    def webhooks(self) -> WebhookSubscriptionRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work. ``read_only=True`` is for use cases that only read: no transaction
    is opened (each statement sees what is committed when it runs, and no ``BEGIN`` or
    ``ROLLBACK`` is sent), and ``commit()`` refuses."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


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

    @property
    def locks(self) -> Locks: ...

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...

    def event_source(self) -> "EventSource":
        """Where this store's committed live events can be listened to."""
        ...

    async def ensure_schema(self, *, apply: bool) -> list[str]:
        """Bring the schema up to date (``apply``) or raise ``StorageError`` if it is behind;
        returns what was applied."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raises ``StorageError`` when the store does not answer."""
        ...

"""The ports, public part: what the use cases need from the world, as ``Protocol`` classes.

Implement one of these to plug your own adapter in (a storage, an incident notifier, a clock,
an image fetcher...) and hand it to the use case, or to ``build_container`` by the name of
its provider (docs/library.md lists them). Structural typing: nothing to inherit from.

Everything named in ``__all__`` is public API and follows semantic versioning; a Protocol
gaining a method is a breaking change (your implementation would no longer fit) and is
announced as one.
"""

from securityvision.application.cambus_ingest import ImageFetcher
from securityvision.application.incident_pipeline import (
    IncidentNotice,
    IncidentNotifier,
    NoticeKind,
)
from securityvision.application.incident_ports import (
    CameraGroupRepository,
    DeviceEventRepository,
    DeviceSecretRepository,
    IncidentMessageRepository,
    IncidentRepository,
    IncidentRuleRepository,
    SecretCipher,
    SupportGroupRepository,
)
from securityvision.application.ports import (
    BuildingRepository,
    Clock,
    CollectionLogRepository,
    DeviceRepository,
    DeviceUserRepository,
    EventLog,
    EventSource,
    FloorPlanRepository,
    FloorRepository,
    GatewaySighting,
    IngestStore,
    Lease,
    LocationRepository,
    LocationRuleRepository,
    Locks,
    LoginAttempts,
    MediaStore,
    Outbox,
    PasswordHasher,
    PersonGroupRepository,
    PersonRepository,
    PresenceStore,
    Publisher,
    ReadingRow,
    RelayObserver,
    SecretGenerator,
    Storage,
    TagRepository,
    TokenClaims,
    TokenService,
    UnitOfWork,
    UnitOfWorkFactory,
    UnknownTagRepository,
    UnknownTagSighting,
    UserRepository,
)
from securityvision.application.positions import PositionQueries
from securityvision.application.presence_totals import PresenceTotalsStore
from securityvision.application.reports import ReportQueries
from securityvision.application.rollup import RollupStore

__all__ = [
    "BuildingRepository",
    "CameraGroupRepository",
    "Clock",
    "CollectionLogRepository",
    "DeviceEventRepository",
    "DeviceRepository",
    "DeviceSecretRepository",
    "DeviceUserRepository",
    "EventLog",
    "EventSource",
    "FloorPlanRepository",
    "FloorRepository",
    "GatewaySighting",
    "ImageFetcher",
    "IncidentMessageRepository",
    "IncidentNotice",
    "IncidentNotifier",
    "IncidentRepository",
    "IncidentRuleRepository",
    "IngestStore",
    "Lease",
    "LocationRepository",
    "LocationRuleRepository",
    "Locks",
    "LoginAttempts",
    "MediaStore",
    "NoticeKind",
    "Outbox",
    "PasswordHasher",
    "PersonGroupRepository",
    "PersonRepository",
    "PositionQueries",
    "PresenceStore",
    "PresenceTotalsStore",
    "Publisher",
    "ReadingRow",
    "RelayObserver",
    "ReportQueries",
    "RollupStore",
    "SecretCipher",
    "SecretGenerator",
    "Storage",
    "SupportGroupRepository",
    "TagRepository",
    "TokenClaims",
    "TokenService",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnknownTagRepository",
    "UnknownTagSighting",
    "UserRepository",
]

"""The composition root: every adapter and use case, wired in one place.

Entry points build a container with ``build_container(settings)``; tests and embedding
services swap any provider with keyword overrides (``build_container(settings,
storage=InMemoryStorage())``) instead of patching.
"""

import importlib
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from dependency_injector import containers, providers

from securityvision.adapters.chatwoot import ChatwootPublisher
from securityvision.adapters.chatwoot_metrics import ChatwootMetrics
from securityvision.adapters.clock import SystemClock
from securityvision.adapters.fetch import SafeFetcher
from securityvision.adapters.media import FilesystemMediaStore, InMemoryMediaStore
from securityvision.adapters.memory import (
    InMemoryPositionQueries,
    InMemoryRollupStore,
    InMemoryStorage,
)
from securityvision.adapters.memory_presence_totals import InMemoryPresenceTotals
from securityvision.adapters.memory_reports import InMemoryReportQueries
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.positions import PostgresPositionQueries
from securityvision.adapters.postgres.presence_totals import PostgresPresenceTotals
from securityvision.adapters.postgres.reports import PostgresReportQueries
from securityvision.adapters.postgres.rollup import PostgresRollupStore
from securityvision.adapters.relay_metrics import RelayMetrics
from securityvision.adapters.secrets import FernetSecretCipher
from securityvision.adapters.security import (
    Argon2PasswordHasher,
    JwtTokenService,
    TokenSecretGenerator,
)
from securityvision.adapters.webhooks import HttpWebhookPublisher
from securityvision.application.access_control import AccessControl
from securityvision.application.alerts import (
    AlertEngine,
    AlertIncidents,
    AlertOutcomes,
    CreateAlertRule,
    DeleteAlertRule,
    GetAlertEvent,
    GetAlertRule,
    ListAlertEvents,
    ListAlertRules,
    UpdateAlertRule,
)
from securityvision.application.cambus_ingest import IngestCameraMessage
from securityvision.application.cambus_publishing import (
    CamBusPublications,
    CamBusPublishing,
    CameraSecretsPublisher,
    CameraUplinks,
    ExpireUplinks,
    GetUplink,
    RecordUplinkStatus,
    StartUplink,
    StopUplink,
    SyncCameraInfo,
    UplinkExpiry,
)
from securityvision.application.cameras import (
    CreateCamera,
    CreateCameraGroup,
    DeleteCameraGroup,
    GetCameraGroup,
    ListCameraEvents,
    ListCameraGroups,
    ListCameras,
    ListCameraStatuses,
    RecordCameraEvent,
    UpdateCamera,
    UpdateCameraGroup,
)
from securityvision.application.chatwoot import (
    ChatwootNotifier,
    ChatwootWebhookAuth,
    HandleChatwootWebhook,
)
from securityvision.application.collection_logs import (
    AddCollectionLog,
    DeleteCollectionLog,
    GetCollectionLog,
    ListCollectionLogs,
)
from securityvision.application.device_users import (
    CreateDeviceUser,
    DeleteDeviceUser,
    GetDeviceUser,
    ListDeviceUsers,
    UpdateDeviceUser,
)
from securityvision.application.devices import (
    CreateDevice,
    DeleteDevice,
    DeleteGatewaysByMac,
    GetDevice,
    ListDevices,
    ListDeviceStatuses,
    UpdateDevice,
)
from securityvision.application.identity import (
    Authenticate,
    BootstrapSuperadmin,
    CreateUser,
    DeleteUser,
    ListUsers,
    Login,
    SignUp,
    UpdateUser,
)
from securityvision.application.incident_pipeline import (
    IncidentNotifiers,
    IncidentPipeline,
    LiveIncidentNotices,
    OpenIncidentsForEvent,
)
from securityvision.application.incident_ports import SecretCipher
from securityvision.application.incident_rules import (
    CreateIncidentRule,
    DeleteIncidentRule,
    GetIncidentRule,
    ListIncidentRules,
    UpdateIncidentRule,
)
from securityvision.application.incidents import (
    AttachFileToIncident,
    CreateIncident,
    GetIncident,
    ListIncidentMessages,
    ListIncidents,
    ListMyIncidents,
    OpenIncidentForDeviceEvent,
    OpenIncidentFromEvent,
    PostIncidentMessage,
    UpdateIncident,
)
from securityvision.application.ingest import DetectSilentGateways, IngestGatewayMessages
from securityvision.application.locations import (
    CreateLocation,
    CreateLocationRule,
    DeleteLocation,
    DeleteLocationRule,
    GetLocation,
    ListLocationRules,
    ListLocations,
    UpdateLocation,
    UpdateLocationRule,
)
from securityvision.application.media import ReadMedia
from securityvision.application.people import (
    CreatePerson,
    CreatePersonGroup,
    DeletePerson,
    DeletePersonGroup,
    GetGroupMembers,
    GetPerson,
    GetPersonGroup,
    ListPeople,
    ListPersonGroups,
    SetGroupMembers,
    UpdatePerson,
    UpdatePersonGroup,
)
from securityvision.application.ports import (
    Clock,
    MediaStore,
    Publisher,
    Storage,
    UnitOfWorkFactory,
)
from securityvision.application.positions import (
    CurrentPositions,
    PersonCurrentLocation,
    PositionQueries,
    PositionsByDevice,
)
from securityvision.application.presence import PresenceFollower
from securityvision.application.presence_totals import (
    PresenceTotalsStore,
    RefreshPresenceTotals,
)
from securityvision.application.relay import OutboxRelay
from securityvision.application.reports import ReportQueries, Reports
from securityvision.application.rollup import RollUpPresence, RollupStore
from securityvision.application.sites import (
    CreateBuilding,
    CreateFloor,
    CreateFloorPlan,
    DeleteBuilding,
    DeleteFloor,
    DeleteFloorPlan,
    GetBuilding,
    GetBuildingByCode,
    GetFloor,
    GetFloorPlan,
    ListBuildingFloorPlans,
    ListBuildings,
    ListFloorPlanDevices,
    ListFloorPlans,
    ListFloors,
    SetFloorPlanImage,
    UpdateBuilding,
    UpdateFloor,
    UpdateFloorPlan,
)
from securityvision.application.support_groups import (
    CreateSupportGroup,
    DeleteSupportGroup,
    GetSupportGroup,
    ListSupportGroups,
    UpdateSupportGroup,
)
from securityvision.application.tags import (
    CreateTag,
    DeleteTag,
    FindTagByMac,
    GetTag,
    ListTags,
    ListUnknownTags,
    UpdateTag,
)
from securityvision.application.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    GetWebhook,
    ListWebhookEventTypes,
    ListWebhooks,
    UpdateWebhook,
    WebhookEvents,
    WebhookIncidentNotices,
)
from securityvision.config import ConfigError, Settings
from securityvision.domain.access_control import AccessControlTopics
from securityvision.domain.chatwoot import CHATWOOT_CHANNEL
from securityvision.domain.outbox import MQTT_CHANNEL
from securityvision.domain.webhooks import WEBHOOK_CHANNEL


def _token_service(settings: Settings, clock: Clock) -> JwtTokenService:
    key = settings.jwt_key
    if key is None:
        raise ConfigError("SVPOS_SECRET_KEY: required to issue and check access tokens")
    return JwtTokenService(
        secret=key.reveal(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(minutes=settings.svpos_access_token_expire_minutes),
        clock=clock,
    )


def _day_of(settings: Settings) -> Callable[[datetime], date]:
    """Days of the presence time zone (read at run time: no migration to change it)."""
    zone = settings.presence_zone

    def day_of(ts: datetime) -> date:
        return ts.astimezone(zone).date()

    return day_of


def _access_control(settings: Settings, clock: Clock) -> AccessControl:
    """Publications are enqueued only when there is a broker to publish them to, as the
    original (ACCESS_CONTROL_MQTT_ENABLED and RTLS_MQTT_ENABLED): otherwise they would pile
    up in the outbox for ever."""
    if not (settings.access_control_mqtt_enabled and settings.rtls_mqtt_enabled):
        return AccessControl()
    topics = AccessControlTopics(
        base_topic=settings.access_control_mqtt_base_topic,
        projection_topic=settings.access_control_mqtt_topic,
        tenant=settings.access_control_tenant,
    )
    return AccessControl(topics, clock)


def _cambus_publishing(settings: Settings) -> CamBusPublishing | None:
    """Publishing to cam-bus needs a broker (CAMBUS_MQTT_ENABLED and RTLS_MQTT_ENABLED);
    camera passwords go in /info only when the broker has authentication configured."""
    if not (settings.cambus_mqtt_enabled and settings.rtls_mqtt_enabled):
        return None
    return CamBusPublishing(
        info_base_topic=settings.cambus_mqtt_base_topic,
        uplink_base_topic=settings.cambus_uplink_base_topic,
        tenant=settings.cambus_tenant,
        default_shard=settings.cambus_default_shard,
        srt_port=settings.cambus_uplink_srt_port,
        shard_hosts=dict(settings.cambus_shard_hosts),
        default_ttl_seconds=settings.cambus_uplink_ttl_seconds,
        webrtc_url_template=settings.cambus_webrtc_url_template,
        hls_url_template=settings.cambus_hls_url_template,
        send_passwords=bool(settings.rtls_mqtt_username),
    )


def _mqtt_publisher(settings: Settings) -> Publisher:
    # Loaded when first asked for: a container that never publishes (a library user's, the
    # in-memory one) does not import the MQTT client.
    publisher: Callable[..., Publisher] = importlib.import_module(
        "securityvision.adapters.mqtt.publisher"
    ).MqttPublisher
    password = settings.rtls_mqtt_password
    return publisher(
        host=settings.mqtt_host,
        port=settings.rtls_mqtt_port,
        username=settings.rtls_mqtt_username,
        password=password.reveal() if password else None,
        tls=settings.rtls_mqtt_tls,
    )


def _enabled_relays(settings: Settings, **relays: Callable[[], OutboxRelay]) -> list[OutboxRelay]:
    """The outbox relays this deployment runs, by channel: each only when its destination is
    configured (a relay of a disabled channel would keep its messages waiting for ever)."""
    enabled = {
        MQTT_CHANNEL: settings.rtls_mqtt_enabled,
        CHATWOOT_CHANNEL: settings.chatwoot_configured,
        WEBHOOK_CHANNEL: settings.webhooks_enabled,
    }
    return [make() for channel, make in relays.items() if enabled.get(channel, False)]


def _chatwoot_notifier(settings: Settings) -> ChatwootNotifier | IncidentNotifiers:
    """Incidents go to Chatwoot only when it is configured (docs/chatwoot.md): otherwise
    nothing enters the outbox for it, as the original sent nothing."""
    if not settings.chatwoot_configured:
        return IncidentNotifiers()
    return ChatwootNotifier(incident_base_url=settings.chatwoot_incident_base_url)


def _chatwoot_publisher(
    settings: Settings, uow: UnitOfWorkFactory, media: MediaStore, metrics: ChatwootMetrics
) -> ChatwootPublisher:
    token = settings.chatwoot_api_access_token
    account = settings.chatwoot_default_account_id
    if not (settings.chatwoot_configured and settings.chatwoot_base_url and token and account):
        raise ConfigError("CHATWOOT_*: Chatwoot is not configured")
    return ChatwootPublisher(
        base_url=settings.chatwoot_base_url,
        api_access_token=token.reveal(),
        account_id=account,
        default_inbox=settings.chatwoot_default_inbox_identifier or "",
        contact_identifier=settings.chatwoot_default_contact_identifier,
        uow=uow,
        media=media,
        observer=metrics,
    )


def _chatwoot_webhook_auth(settings: Settings, clock: Clock) -> ChatwootWebhookAuth:
    secret, token = settings.chatwoot_webhook_secret, settings.chatwoot_webhook_token
    return ChatwootWebhookAuth(
        secret=secret.reveal() if secret else None,
        token=token.reveal() if token else None,
        clock=clock,
    )


def _chatwoot_fetcher(settings: Settings) -> SafeFetcher | None:
    """Attachments the webhook names are fetched from the Chatwoot host only."""
    host = urlsplit(settings.chatwoot_base_url or "").hostname
    if not host:
        return None
    return SafeFetcher(allowed_hosts=(host.lower(),), max_bytes=settings.media_max_bytes)


def _position_queries(storage: object) -> PositionQueries:
    if isinstance(storage, InMemoryStorage):
        return InMemoryPositionQueries(storage)
    if isinstance(storage, PostgresStorage):
        return PostgresPositionQueries(storage)
    raise TypeError(f"no position queries for {type(storage).__name__}")


def _report_queries(storage: object, zone: tzinfo, zone_name: str) -> ReportQueries:
    if isinstance(storage, InMemoryStorage):
        return InMemoryReportQueries(storage, zone)
    if isinstance(storage, PostgresStorage):
        return PostgresReportQueries(storage, zone, zone_name)
    raise TypeError(f"no report queries for {type(storage).__name__}")


def _rollup_store(storage: object) -> RollupStore:
    if isinstance(storage, InMemoryStorage):
        return InMemoryRollupStore(storage)
    if isinstance(storage, PostgresStorage):
        return PostgresRollupStore(storage)
    raise TypeError(f"no rollup store for {type(storage).__name__}")


def _presence_totals_store(storage: object) -> PresenceTotalsStore:
    if isinstance(storage, InMemoryStorage):
        return InMemoryPresenceTotals()
    if isinstance(storage, PostgresStorage):
        return PostgresPresenceTotals(storage)
    raise TypeError(f"no presence totals store for {type(storage).__name__}")


def _secret_cipher(settings: Settings) -> SecretCipher | None:
    """Camera passwords are encrypted with DEVICE_SECRETS_KEY; without it none is stored."""
    key = settings.device_secrets_key
    return None if key is None else FernetSecretCipher(key.reveal())


def _concurrent_transactions(storage: Storage) -> bool:
    """Whether units of work may run side by side as isolated transactions (PostgreSQL's
    do; the in-memory storage's each work on a copy of the state and the last commit wins)."""
    return isinstance(storage, PostgresStorage)


def _postgres(settings: Settings) -> PostgresStorage:
    return PostgresStorage(settings.database_conninfo())


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    # Adapters
    clock = providers.Singleton(SystemClock)
    storage = providers.Singleton(_postgres, settings)
    password_hasher = providers.Singleton(Argon2PasswordHasher)
    token_service = providers.Singleton(_token_service, settings, clock)
    secret_generator = providers.Singleton(TokenSecretGenerator)
    # Uploaded and fetched images under MEDIA_ROOT, served at /media/ (created on first save).
    media_store = providers.Singleton(FilesystemMediaStore, settings.provided.media_root)
    access_control = providers.Singleton(_access_control, settings, clock)
    # The outbox relay of MQTT publications (docs/access-control.md): entrypoints run it.
    mqtt_publisher = providers.Singleton(_mqtt_publisher, settings)
    # cam-bus (docs/cambus.md): /info and uplinks through the same outbox and relay.
    cambus_publishing = providers.Singleton(_cambus_publishing, settings)
    cambus = providers.Singleton(CamBusPublications, cambus_publishing)
    relay_metrics = providers.Singleton(RelayMetrics.for_registry)
    chatwoot_metrics = providers.Singleton(ChatwootMetrics.for_registry)

    # Use cases
    unit_of_work = storage.provided.unit_of_work
    mqtt_relay = providers.Singleton(
        OutboxRelay,
        channel=MQTT_CHANNEL,
        uow=unit_of_work,
        # Camera passwords go into cam-bus /info only as it is sent (never stored in clear).
        publisher=providers.Singleton(
            CameraSecretsPublisher,
            mqtt_publisher,
            unit_of_work,
            providers.Singleton(_secret_cipher, settings),
        ),
        locks=storage.provided.locks,
        observer=relay_metrics,
    )
    # Chatwoot's outbox relay (docs/chatwoot.md), over its Application API.
    chatwoot_publisher = providers.Singleton(
        _chatwoot_publisher, settings, unit_of_work, media_store, chatwoot_metrics
    )
    chatwoot_relay = providers.Singleton(
        OutboxRelay,
        channel=CHATWOOT_CHANNEL,
        uow=unit_of_work,
        publisher=chatwoot_publisher,
        locks=storage.provided.locks,
        observer=relay_metrics,
    )
    # The outbox relay of outbound webhooks (docs/alerts.md): signs at send time.
    webhook_publisher = providers.Singleton(
        HttpWebhookPublisher,
        uow=unit_of_work,
        cipher=providers.Singleton(_secret_cipher, settings),
        timeout_seconds=settings.provided.webhook_timeout_seconds,
    )
    webhook_relay = providers.Singleton(
        OutboxRelay,
        channel=WEBHOOK_CHANNEL,
        uow=unit_of_work,
        publisher=webhook_publisher,
        locks=storage.provided.locks,
        observer=relay_metrics,
    )
    # Every relay this deployment runs (API processes and `dev` run them), by channel.
    relays = providers.Callable(
        _enabled_relays,
        settings,
        mqtt=mqtt_relay.provider,
        chatwoot=chatwoot_relay.provider,
        webhook=webhook_relay.provider,
    )
    create_user = providers.Factory(CreateUser, uow=unit_of_work, hasher=password_hasher)
    login = providers.Factory(
        Login,
        uow=unit_of_work,
        attempts=storage.provided.login_attempts,
        hasher=password_hasher,
        tokens=token_service,
        clock=clock,
    )
    authenticate = providers.Factory(Authenticate, uow=unit_of_work, tokens=token_service)
    update_user = providers.Factory(UpdateUser, uow=unit_of_work, hasher=password_hasher)
    delete_user = providers.Factory(DeleteUser, uow=unit_of_work)
    list_users = providers.Factory(ListUsers, uow=unit_of_work)
    sign_up = providers.Factory(
        SignUp, create=create_user, uow=unit_of_work, dev_mode=settings.provided.dev_mode
    )
    presence_follower = providers.Singleton(
        PresenceFollower,
        session_gap=providers.Callable(
            lambda s: timedelta(seconds=s.presence_session_gap_seconds), settings
        ),
        day_of=providers.Callable(_day_of, settings),
    )
    position_queries = providers.Singleton(_position_queries, storage)
    current_positions = providers.Factory(
        CurrentPositions,
        queries=position_queries,
        clock=clock,
        stale_after=providers.Callable(
            lambda s: timedelta(seconds=s.position_stale_threshold_seconds), settings
        ),
    )
    positions_by_device = providers.Factory(PositionsByDevice, current=current_positions)
    person_current_location = providers.Factory(
        PersonCurrentLocation, uow=unit_of_work, queries=position_queries
    )
    rollup_store = providers.Singleton(_rollup_store, storage)
    roll_up_presence = providers.Factory(
        RollUpPresence,
        store=rollup_store,
        clock=clock,
        zone=settings.provided.presence_zone,
        zone_name=settings.provided.presence_timezone,
    )
    presence_totals_store = providers.Singleton(_presence_totals_store, storage)
    refresh_presence_totals = providers.Factory(
        RefreshPresenceTotals, store=presence_totals_store, clock=clock
    )
    ingest_gateway_messages = providers.Factory(
        IngestGatewayMessages,
        uow=unit_of_work,
        clock=clock,
        accept_unknown_tags=settings.provided.rtls_accept_unknown_tags,
        presence=presence_follower,
        lanes=providers.Callable(_concurrent_transactions, storage),
    )
    detect_silent_gateways = providers.Factory(
        DetectSilentGateways,
        uow=unit_of_work,
        clock=clock,
        threshold=providers.Callable(
            lambda s: timedelta(seconds=s.device_offline_threshold_seconds), settings
        ),
    )
    bootstrap_superadmin = providers.Factory(
        BootstrapSuperadmin, create=create_user, uow=unit_of_work, secrets=secret_generator
    )

    # People, tags, devices, readings (RTLS register)
    create_person = providers.Factory(CreatePerson, uow=unit_of_work, access_control=access_control)
    update_person = providers.Factory(UpdatePerson, uow=unit_of_work, access_control=access_control)
    delete_person = providers.Factory(DeletePerson, uow=unit_of_work, access_control=access_control)
    get_person = providers.Factory(GetPerson, uow=unit_of_work)
    list_people = providers.Factory(ListPeople, uow=unit_of_work)
    create_person_group = providers.Factory(CreatePersonGroup, uow=unit_of_work)
    update_person_group = providers.Factory(UpdatePersonGroup, uow=unit_of_work)
    delete_person_group = providers.Factory(DeletePersonGroup, uow=unit_of_work)
    get_person_group = providers.Factory(GetPersonGroup, uow=unit_of_work)
    list_person_groups = providers.Factory(ListPersonGroups, uow=unit_of_work)
    get_group_members = providers.Factory(GetGroupMembers, uow=unit_of_work)
    set_group_members = providers.Factory(SetGroupMembers, uow=unit_of_work)
    create_tag = providers.Factory(CreateTag, uow=unit_of_work)
    update_tag = providers.Factory(UpdateTag, uow=unit_of_work)
    delete_tag = providers.Factory(DeleteTag, uow=unit_of_work)
    get_tag = providers.Factory(GetTag, uow=unit_of_work)
    find_tag_by_mac = providers.Factory(FindTagByMac, uow=unit_of_work)
    list_tags = providers.Factory(ListTags, uow=unit_of_work)
    list_unknown_tags = providers.Factory(ListUnknownTags, uow=unit_of_work)
    create_device = providers.Factory(
        CreateDevice, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    update_device = providers.Factory(
        UpdateDevice, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    delete_device = providers.Factory(
        DeleteDevice, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    delete_gateways_by_mac = providers.Factory(
        DeleteGatewaysByMac, uow=unit_of_work, access_control=access_control
    )
    get_device = providers.Factory(GetDevice, uow=unit_of_work)
    list_devices = providers.Factory(ListDevices, uow=unit_of_work)
    list_device_statuses = providers.Factory(
        ListDeviceStatuses,
        uow=unit_of_work,
        clock=clock,
        threshold=providers.Callable(
            lambda s: timedelta(seconds=s.device_offline_threshold_seconds), settings
        ),
    )
    # Presence reports (docs/reports.md): one read model, every report use case.
    report_queries = providers.Singleton(
        _report_queries,
        storage,
        settings.provided.presence_zone,
        settings.provided.presence_timezone,
    )
    reports = providers.Factory(
        Reports.build,
        queries=report_queries,
        uow=unit_of_work,
        clock=clock,
        zone=settings.provided.presence_zone,
        statuses=list_device_statuses,
    )
    add_collection_log = providers.Factory(
        AddCollectionLog, uow=unit_of_work, clock=clock, presence=presence_follower
    )
    get_collection_log = providers.Factory(GetCollectionLog, uow=unit_of_work)
    list_collection_logs = providers.Factory(ListCollectionLogs, uow=unit_of_work)
    delete_collection_log = providers.Factory(DeleteCollectionLog, uow=unit_of_work)

    # Sites: buildings, floors, floor plans (and their images), locations, device users
    create_building = providers.Factory(CreateBuilding, uow=unit_of_work)
    update_building = providers.Factory(
        UpdateBuilding, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    delete_building = providers.Factory(
        DeleteBuilding, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    get_building = providers.Factory(GetBuilding, uow=unit_of_work)
    get_building_by_code = providers.Factory(GetBuildingByCode, uow=unit_of_work)
    list_buildings = providers.Factory(ListBuildings, uow=unit_of_work)
    list_building_floor_plans = providers.Factory(ListBuildingFloorPlans, uow=unit_of_work)
    create_floor = providers.Factory(CreateFloor, uow=unit_of_work)
    update_floor = providers.Factory(
        UpdateFloor, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    delete_floor = providers.Factory(
        DeleteFloor, uow=unit_of_work, access_control=access_control, cambus=cambus
    )
    get_floor = providers.Factory(GetFloor, uow=unit_of_work)
    list_floors = providers.Factory(ListFloors, uow=unit_of_work)
    create_floor_plan = providers.Factory(
        CreateFloorPlan, uow=unit_of_work, access_control=access_control
    )
    update_floor_plan = providers.Factory(
        UpdateFloorPlan, uow=unit_of_work, access_control=access_control
    )
    delete_floor_plan = providers.Factory(
        DeleteFloorPlan, uow=unit_of_work, access_control=access_control
    )
    get_floor_plan = providers.Factory(GetFloorPlan, uow=unit_of_work)
    list_floor_plans = providers.Factory(ListFloorPlans, uow=unit_of_work)
    list_floor_plan_devices = providers.Factory(ListFloorPlanDevices, uow=unit_of_work)
    set_floor_plan_image = providers.Factory(
        SetFloorPlanImage,
        uow=unit_of_work,
        media=media_store,
        max_bytes=settings.provided.media_max_bytes,
    )
    read_media = providers.Factory(ReadMedia, media=media_store)
    create_location = providers.Factory(
        CreateLocation, uow=unit_of_work, access_control=access_control
    )
    update_location = providers.Factory(
        UpdateLocation, uow=unit_of_work, access_control=access_control
    )
    delete_location = providers.Factory(
        DeleteLocation, uow=unit_of_work, access_control=access_control
    )
    get_location = providers.Factory(GetLocation, uow=unit_of_work)
    list_locations = providers.Factory(ListLocations, uow=unit_of_work)
    create_location_rule = providers.Factory(
        CreateLocationRule, uow=unit_of_work, access_control=access_control
    )
    update_location_rule = providers.Factory(
        UpdateLocationRule, uow=unit_of_work, access_control=access_control
    )
    delete_location_rule = providers.Factory(
        DeleteLocationRule, uow=unit_of_work, access_control=access_control
    )
    list_location_rules = providers.Factory(ListLocationRules, uow=unit_of_work)
    create_device_user = providers.Factory(
        CreateDeviceUser, uow=unit_of_work, access_control=access_control
    )
    update_device_user = providers.Factory(
        UpdateDeviceUser, uow=unit_of_work, access_control=access_control
    )
    delete_device_user = providers.Factory(
        DeleteDeviceUser, uow=unit_of_work, access_control=access_control
    )
    get_device_user = providers.Factory(GetDeviceUser, uow=unit_of_work)
    list_device_users = providers.Factory(ListDeviceUsers, uow=unit_of_work)

    # Cameras, camera groups, support groups, incident rules, incidents (docs/incidents.md)
    secret_cipher = providers.Singleton(_secret_cipher, settings)
    # Where incident changes go out, each told in the change's unit of work: the event stream
    # (and, one line each, the outbound webhooks and Chatwoot).
    # Outbound webhooks: one outbox message per (event, subscription), in the change's unit
    # of work (docs/alerts.md).
    webhook_events = providers.Singleton(
        WebhookEvents, clock, enabled=settings.provided.webhooks_enabled
    )
    incident_notifier = providers.Singleton(
        IncidentNotifiers,
        providers.Singleton(LiveIncidentNotices),
        providers.Singleton(_chatwoot_notifier, settings),
        providers.Singleton(WebhookIncidentNotices, webhook_events),
    )
    incident_pipeline = providers.Singleton(
        IncidentPipeline,
        clock=clock,
        cooldown=providers.Callable(
            lambda s: timedelta(seconds=s.incident_cooldown_seconds), settings
        ),
        notifier=incident_notifier,
    )
    open_incidents_for_event = providers.Factory(
        OpenIncidentsForEvent, uow=unit_of_work, pipeline=incident_pipeline
    )
    create_camera = providers.Factory(
        CreateCamera,
        uow=unit_of_work,
        cipher=secret_cipher,
        default_shard=settings.provided.cambus_default_shard,
        access_control=access_control,
        cambus=cambus,
    )
    update_camera = providers.Factory(
        UpdateCamera,
        uow=unit_of_work,
        cipher=secret_cipher,
        access_control=access_control,
        cambus=cambus,
    )
    list_cameras = providers.Factory(ListCameras, uow=unit_of_work)
    list_camera_statuses = providers.Factory(
        ListCameraStatuses,
        uow=unit_of_work,
        clock=clock,
        threshold=providers.Callable(
            lambda s: timedelta(seconds=s.device_offline_threshold_seconds), settings
        ),
    )
    list_camera_events = providers.Factory(ListCameraEvents, uow=unit_of_work)
    image_fetcher = providers.Singleton(
        SafeFetcher,
        allowed_hosts=settings.provided.media_fetch_allowed_hosts,
        max_bytes=settings.provided.media_max_bytes,
    )
    ingest_camera_message = providers.Factory(
        IngestCameraMessage,
        uow=unit_of_work,
        clock=clock,
        pipeline=incident_pipeline,
        media=media_store,
        media_max_bytes=settings.provided.media_max_bytes,
        fetcher=image_fetcher,
    )
    start_uplink = providers.Factory(
        StartUplink, uow=unit_of_work, clock=clock, config=cambus_publishing
    )
    stop_uplink = providers.Factory(
        StopUplink, uow=unit_of_work, clock=clock, config=cambus_publishing
    )
    get_uplink = providers.Factory(GetUplink, uow=unit_of_work, clock=clock)
    camera_uplinks = providers.Factory(CameraUplinks, uow=unit_of_work, clock=clock)
    record_uplink_status = providers.Factory(RecordUplinkStatus, uow=unit_of_work)
    # Run beside the outbox relay (the API processes, dev): stops uplinks not renewed.
    expire_uplinks = providers.Factory(ExpireUplinks, uow=unit_of_work, clock=clock)
    sync_camera_info = providers.Factory(SyncCameraInfo, uow=unit_of_work, cambus=cambus)
    uplink_expiry = providers.Singleton(
        UplinkExpiry, expire=expire_uplinks, locks=storage.provided.locks, sync=sync_camera_info
    )
    record_camera_event = providers.Factory(
        RecordCameraEvent, uow=unit_of_work, clock=clock, pipeline=incident_pipeline
    )
    create_camera_group = providers.Factory(CreateCameraGroup, uow=unit_of_work)
    update_camera_group = providers.Factory(UpdateCameraGroup, uow=unit_of_work)
    get_camera_group = providers.Factory(GetCameraGroup, uow=unit_of_work)
    list_camera_groups = providers.Factory(ListCameraGroups, uow=unit_of_work)
    delete_camera_group = providers.Factory(DeleteCameraGroup, uow=unit_of_work)
    create_support_group = providers.Factory(CreateSupportGroup, uow=unit_of_work)
    update_support_group = providers.Factory(UpdateSupportGroup, uow=unit_of_work)
    get_support_group = providers.Factory(GetSupportGroup, uow=unit_of_work)
    list_support_groups = providers.Factory(ListSupportGroups, uow=unit_of_work)
    delete_support_group = providers.Factory(DeleteSupportGroup, uow=unit_of_work)
    create_incident_rule = providers.Factory(CreateIncidentRule, uow=unit_of_work)
    update_incident_rule = providers.Factory(UpdateIncidentRule, uow=unit_of_work)
    get_incident_rule = providers.Factory(GetIncidentRule, uow=unit_of_work)
    list_incident_rules = providers.Factory(ListIncidentRules, uow=unit_of_work)
    delete_incident_rule = providers.Factory(DeleteIncidentRule, uow=unit_of_work)
    create_incident = providers.Factory(
        CreateIncident, uow=unit_of_work, clock=clock, notifier=incident_notifier
    )
    get_incident = providers.Factory(GetIncident, uow=unit_of_work)
    list_incidents = providers.Factory(ListIncidents, uow=unit_of_work)
    list_my_incidents = providers.Factory(ListMyIncidents, uow=unit_of_work)
    update_incident = providers.Factory(
        UpdateIncident, uow=unit_of_work, clock=clock, notifier=incident_notifier
    )
    open_incident_from_event = providers.Factory(
        OpenIncidentFromEvent, uow=unit_of_work, pipeline=incident_pipeline
    )
    open_incident_for_device_event = providers.Factory(
        OpenIncidentForDeviceEvent, uow=unit_of_work, pipeline=incident_pipeline
    )
    list_incident_messages = providers.Factory(ListIncidentMessages, uow=unit_of_work)
    post_incident_message = providers.Factory(
        PostIncidentMessage, uow=unit_of_work, clock=clock, notifier=incident_notifier
    )
    chatwoot_webhook_auth = providers.Singleton(_chatwoot_webhook_auth, settings, clock)
    chatwoot_fetcher = providers.Singleton(_chatwoot_fetcher, settings)
    handle_chatwoot_webhook = providers.Factory(
        HandleChatwootWebhook,
        uow=unit_of_work,
        clock=clock,
        media=media_store,
        max_bytes=settings.provided.media_max_bytes,
        notifier=incident_notifier,
        fetcher=chatwoot_fetcher,
        chatwoot_base_url=settings.provided.chatwoot_base_url,
    )
    attach_file_to_incident = providers.Factory(
        AttachFileToIncident,
        uow=unit_of_work,
        media=media_store,
        clock=clock,
        max_bytes=settings.provided.media_max_bytes,
        notifier=incident_notifier,
    )

    # Alerts and outbound webhooks (docs/alerts.md)
    alert_outcomes = providers.Singleton(
        AlertOutcomes,
        incidents=providers.Singleton(AlertIncidents, clock, incident_notifier),
        webhooks=webhook_events,
    )
    alert_engine = providers.Singleton(
        AlertEngine,
        clock,
        alert_outcomes,
        stale_after=providers.Callable(
            lambda s: timedelta(seconds=2 * s.position_stale_threshold_seconds), settings
        ),
    )
    create_alert_rule = providers.Factory(
        CreateAlertRule, uow=unit_of_work, webhooks=webhook_events
    )
    update_alert_rule = providers.Factory(
        UpdateAlertRule,
        uow=unit_of_work,
        clock=clock,
        outcomes=alert_outcomes,
        webhooks=webhook_events,
    )
    delete_alert_rule = providers.Factory(
        DeleteAlertRule,
        uow=unit_of_work,
        clock=clock,
        outcomes=alert_outcomes,
        webhooks=webhook_events,
    )
    get_alert_rule = providers.Factory(GetAlertRule, uow=unit_of_work)
    list_alert_rules = providers.Factory(ListAlertRules, uow=unit_of_work)
    list_alert_events = providers.Factory(ListAlertEvents, uow=unit_of_work)
    get_alert_event = providers.Factory(GetAlertEvent, uow=unit_of_work)
    create_webhook = providers.Factory(CreateWebhook, uow=unit_of_work, cipher=secret_cipher)
    update_webhook = providers.Factory(UpdateWebhook, uow=unit_of_work, cipher=secret_cipher)
    get_webhook = providers.Factory(GetWebhook, uow=unit_of_work)
    list_webhooks = providers.Factory(ListWebhooks, uow=unit_of_work)
    delete_webhook = providers.Factory(DeleteWebhook, uow=unit_of_work)
    list_webhook_event_types = providers.Factory(ListWebhookEventTypes)
    # The ingest path raises alerts in its own transactions (its providers come first above).
    ingest_gateway_messages.add_kwargs(alerts=alert_engine)
    detect_silent_gateways.add_kwargs(alerts=alert_engine)
    add_collection_log.add_kwargs(alerts=alert_engine)
    # Changes of the register go out to webhook subscribers (defined above the webhooks).
    create_person.add_kwargs(webhooks=webhook_events)
    update_person.add_kwargs(webhooks=webhook_events)
    delete_person.add_kwargs(webhooks=webhook_events)
    create_tag.add_kwargs(webhooks=webhook_events)
    update_tag.add_kwargs(webhooks=webhook_events)
    delete_tag.add_kwargs(webhooks=webhook_events)
    create_device.add_kwargs(webhooks=webhook_events)
    update_device.add_kwargs(webhooks=webhook_events)
    delete_device.add_kwargs(webhooks=webhook_events)
    delete_gateways_by_mac.add_kwargs(webhooks=webhook_events)
    create_camera.add_kwargs(webhooks=webhook_events)
    update_camera.add_kwargs(webhooks=webhook_events)
    create_building.add_kwargs(webhooks=webhook_events)
    update_building.add_kwargs(webhooks=webhook_events)
    delete_building.add_kwargs(webhooks=webhook_events)


def build_container(settings: Settings, *, memory: bool = False, **overrides: Any) -> Container:
    """A container for ``settings``; ``memory=True`` keeps everything in process memory, and
    each keyword replaces the provider of that name with the given object."""
    container = Container(settings=settings)
    if memory:
        container.storage.override(providers.Singleton(InMemoryStorage, clock=container.clock))
        container.media_store.override(providers.Singleton(InMemoryMediaStore))
    for name, value in overrides.items():
        provider = getattr(container, name, None)
        if not isinstance(provider, providers.Provider):
            raise TypeError(f"the container has no provider named {name!r}")
        provider.override(providers.Object(value))
    return container

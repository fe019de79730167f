"""The composition root: every adapter and use case, wired in one place.

Entry points build a container with ``build_container(settings)``; tests and embedding
services swap any provider with keyword overrides (``build_container(settings,
storage=InMemoryStorage())``) instead of patching.
"""

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from securityvision.adapters.clock import SystemClock
from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.security import (
    Argon2PasswordHasher,
    JwtTokenService,
    TokenSecretGenerator,
)
from securityvision.application.collection_logs import (
    AddCollectionLog,
    DeleteCollectionLog,
    GetCollectionLog,
    ListCollectionLogs,
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
from securityvision.application.ingest import DetectSilentGateways, IngestGatewayMessages
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
from securityvision.application.ports import Clock
from securityvision.application.tags import (
    CreateTag,
    DeleteTag,
    FindTagByMac,
    GetTag,
    ListTags,
    ListUnknownTags,
    UpdateTag,
)
from securityvision.config import ConfigError, Settings


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

    # Use cases
    unit_of_work = storage.provided.unit_of_work
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
    ingest_gateway_messages = providers.Factory(
        IngestGatewayMessages,
        uow=unit_of_work,
        clock=clock,
        accept_unknown_tags=settings.provided.rtls_accept_unknown_tags,
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
    create_person = providers.Factory(CreatePerson, uow=unit_of_work)
    update_person = providers.Factory(UpdatePerson, uow=unit_of_work)
    delete_person = providers.Factory(DeletePerson, uow=unit_of_work)
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
    create_device = providers.Factory(CreateDevice, uow=unit_of_work)
    update_device = providers.Factory(UpdateDevice, uow=unit_of_work)
    delete_device = providers.Factory(DeleteDevice, uow=unit_of_work)
    delete_gateways_by_mac = providers.Factory(DeleteGatewaysByMac, uow=unit_of_work)
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
    add_collection_log = providers.Factory(AddCollectionLog, uow=unit_of_work, clock=clock)
    get_collection_log = providers.Factory(GetCollectionLog, uow=unit_of_work)
    list_collection_logs = providers.Factory(ListCollectionLogs, uow=unit_of_work)
    delete_collection_log = providers.Factory(DeleteCollectionLog, uow=unit_of_work)


def build_container(settings: Settings, *, memory: bool = False, **overrides: Any) -> Container:
    """A container for ``settings``; ``memory=True`` keeps everything in process memory, and
    each keyword replaces the provider of that name with the given object."""
    container = Container(settings=settings)
    if memory:
        container.storage.override(providers.Singleton(InMemoryStorage, clock=container.clock))
    for name, value in overrides.items():
        provider = getattr(container, name, None)
        if not isinstance(provider, providers.Provider):
            raise TypeError(f"the container has no provider named {name!r}")
        provider.override(providers.Object(value))
    return container

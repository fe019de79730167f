"""The Litestar application factory."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from securityvision.adapters.mqtt.probe import BrokerProbe
from securityvision.application.live import EventHub
from securityvision.config import Settings
from securityvision.container import Container
from securityvision.domain.chatwoot import CHATWOOT_CHANNEL
from securityvision.domain.outbox import MQTT_CHANNEL
from securityvision.domain.webhooks import WEBHOOK_CHANNEL
from securityvision.entrypoints.http.auth import (
    PUBLIC,
    BearerTokenMiddleware,
    viewers_read_only,
)
from securityvision.entrypoints.http.controllers.alerts import (
    AlertEventsController,
    AlertRulesController,
    WebhooksController,
)
from securityvision.entrypoints.http.controllers.auth import AuthController
from securityvision.entrypoints.http.controllers.cameras import (
    CameraGroupsController,
    CamerasController,
)
from securityvision.entrypoints.http.controllers.chatwoot import ChatwootWebhookController
from securityvision.entrypoints.http.controllers.collection_logs import CollectionLogsController
from securityvision.entrypoints.http.controllers.device_users import DeviceUsersController
from securityvision.entrypoints.http.controllers.devices import (
    DevicesController,
    GatewaysController,
)
from securityvision.entrypoints.http.controllers.events import EventStreamController
from securityvision.entrypoints.http.controllers.health import HealthChecker, HealthController
from securityvision.entrypoints.http.controllers.incidents import (
    IncidentAttachmentsController,
    IncidentRulesController,
    IncidentsController,
    SupportGroupsController,
)
from securityvision.entrypoints.http.controllers.locations import LocationsController
from securityvision.entrypoints.http.controllers.media import MediaController
from securityvision.entrypoints.http.controllers.people import (
    PeopleController,
    PersonGroupsController,
)
from securityvision.entrypoints.http.controllers.positions import (
    PersonLocationController,
    PositionsController,
)
from securityvision.entrypoints.http.controllers.reports import (
    DashboardController,
    ReportsController,
)
from securityvision.entrypoints.http.controllers.sites import (
    BuildingsController,
    FloorPlanImageController,
    FloorPlansController,
    FloorsController,
)
from securityvision.entrypoints.http.controllers.tags import TagsController
from securityvision.entrypoints.http.controllers.users import UsersController
from securityvision.entrypoints.http.errors import EXCEPTION_HANDLERS
from securityvision.entrypoints.http.openapi_errors import document_errors
from securityvision.entrypoints.relays import running

log = logging.getLogger("securityvision.http")

# Use cases handed to handlers by parameter name; handlers never see the container.
_USE_CASES = (
    "current_positions",
    "reports",
    "positions_by_device",
    "person_current_location",
    "login",
    "sign_up",
    "create_user",
    "update_user",
    "delete_user",
    "list_users",
    "create_person",
    "update_person",
    "delete_person",
    "get_person",
    "list_people",
    "create_person_group",
    "update_person_group",
    "delete_person_group",
    "get_person_group",
    "list_person_groups",
    "get_group_members",
    "set_group_members",
    "create_tag",
    "update_tag",
    "delete_tag",
    "get_tag",
    "find_tag_by_mac",
    "list_tags",
    "list_unknown_tags",
    "create_device",
    "update_device",
    "delete_device",
    "delete_gateways_by_mac",
    "get_device",
    "list_devices",
    "list_device_statuses",
    "add_collection_log",
    "get_collection_log",
    "list_collection_logs",
    "delete_collection_log",
    "create_building",
    "update_building",
    "delete_building",
    "get_building",
    "get_building_by_code",
    "list_buildings",
    "list_building_floor_plans",
    "create_floor",
    "update_floor",
    "delete_floor",
    "get_floor",
    "list_floors",
    "create_floor_plan",
    "update_floor_plan",
    "delete_floor_plan",
    "get_floor_plan",
    "list_floor_plans",
    "list_floor_plan_devices",
    "set_floor_plan_image",
    "read_media",
    "create_location",
    "update_location",
    "delete_location",
    "get_location",
    "list_locations",
    "create_location_rule",
    "update_location_rule",
    "delete_location_rule",
    "list_location_rules",
    "create_device_user",
    "update_device_user",
    "delete_device_user",
    "get_device_user",
    "list_device_users",
    # Cameras, camera groups, support groups, incident rules, incidents
    "create_camera",
    "update_camera",
    "list_cameras",
    "list_camera_statuses",
    "list_camera_events",
    "record_camera_event",
    "create_camera_group",
    "update_camera_group",
    "get_camera_group",
    "list_camera_groups",
    "delete_camera_group",
    "create_support_group",
    "update_support_group",
    "get_support_group",
    "list_support_groups",
    "delete_support_group",
    "create_incident_rule",
    "update_incident_rule",
    "get_incident_rule",
    "list_incident_rules",
    "delete_incident_rule",
    "create_incident",
    "get_incident",
    "list_incidents",
    "list_my_incidents",
    "update_incident",
    "open_incident_from_event",
    "open_incident_for_device_event",
    "list_incident_messages",
    "post_incident_message",
    "attach_file_to_incident",
    "handle_chatwoot_webhook",
    # cam-bus uplinks
    "start_uplink",
    "stop_uplink",
    "get_uplink",
    "camera_uplinks",
    # Alerts and outbound webhooks
    "create_alert_rule",
    "update_alert_rule",
    "delete_alert_rule",
    "get_alert_rule",
    "list_alert_rules",
    "list_alert_events",
    "get_alert_event",
    "create_webhook",
    "update_webhook",
    "get_webhook",
    "list_webhooks",
    "delete_webhook",
    "list_webhook_event_types",
)

# Multipart framing around an uploaded file (boundaries, part headers): the request body
# limit of upload routes is MEDIA_MAX_BYTES plus this.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = {PUBLIC: True}
    include_in_schema = False


def create_app(container: Container, *, manage_storage: bool = True) -> Litestar:
    """Build the API over ``container``.

    On start-up the app opens the storage, brings the schema up to date (or, with
    ``RUN_MIGRATIONS=0``, refuses to start on one that is behind) and bootstraps the
    superadmin from ``SUPERADMIN_*`` and runs the outbox relay of MQTT publications (when MQTT
    is enabled); on shut-down it stops the relay and closes the storage.
    ``manage_storage=False`` leaves all of that to the caller (``dev``, which shares the
    storage with the worker it runs in the same process).
    """
    settings: Settings = container.settings()
    storage = container.storage()
    broker = _broker_probe(settings)
    # The outbox relays (MQTT publications, ...); they run with the storage they need.
    relays = container.relays()
    # Beside it, the expiry of cam-bus uplinks not renewed (when publishing to cam-bus).
    expiry = container.uplink_expiry() if container.cambus_publishing() is not None else None
    # /health shows each of those relays, by channel: exactly the ones that run.
    by_channel = {relay.status.channel: relay for relay in relays}
    health_checker = HealthChecker(
        storage,
        broker,
        chatwoot_enabled=settings.chatwoot_enabled,
        relay=by_channel.get(MQTT_CHANNEL),
        chatwoot_relay=by_channel.get(CHATWOOT_CHANNEL),
        chatwoot_publisher=(
            container.chatwoot_publisher() if CHATWOOT_CHANNEL in by_channel else None
        ),
        webhook_relay=by_channel.get(WEBHOOK_CHANNEL),
    )

    event_hub = EventHub(storage.event_source())

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if not manage_storage:
            event_hub.start()
            try:
                yield
            finally:
                await event_hub.stop()
            return
        for label in await storage.ensure_schema(apply=settings.run_migrations):
            log.info("applied migration %s", label)
        await storage.open()
        try:
            await bootstrap_from_settings(container)
            event_hub.start()
            try:
                async with running(*relays, *([expiry] if expiry else [])):
                    yield
            finally:
                await event_hub.stop()
        finally:
            await storage.close()

    dependencies: dict[str, Provide] = {
        name: Provide(_factory(getattr(container, name)), sync_to_thread=False)
        for name in _USE_CASES
    }
    dependencies["health_checker"] = Provide(lambda: health_checker, sync_to_thread=False)
    dependencies["event_hub"] = Provide(lambda: event_hub, sync_to_thread=False)
    for name in ("chatwoot_webhook_auth", "chatwoot_metrics"):
        dependencies[name] = Provide(_factory(getattr(container, name)), sync_to_thread=False)

    api = Router(
        path="/api/v1",
        route_handlers=[
            AuthController,
            UsersController,
            PositionsController,
            ReportsController,
            DashboardController,
            PersonLocationController,
            EventStreamController,
            PeopleController,
            PersonGroupsController,
            TagsController,
            DevicesController,
            GatewaysController,
            CollectionLogsController,
            BuildingsController,
            FloorsController,
            FloorPlansController,
            LocationsController,
            DeviceUsersController,
            CamerasController,
            CameraGroupsController,
            IncidentsController,
            IncidentRulesController,
            SupportGroupsController,
            ChatwootWebhookController,
            AlertRulesController,
            AlertEventsController,
            WebhooksController,
            # Upload routes: a body over MEDIA_MAX_BYTES is refused while it arrives (413),
            # never buffered first; every other route keeps Litestar's default limit.
            Router(
                path="/",
                route_handlers=[FloorPlanImageController, IncidentAttachmentsController],
                request_max_body_size=settings.media_max_bytes + UPLOAD_OVERHEAD_BYTES,
            ),
        ],
        guards=[viewers_read_only],
    )
    prometheus = PrometheusConfig(
        app_name="securityvision", prefix="securityvision", group_path=True
    )
    app = Litestar(
        route_handlers=[api, HealthController, MetricsController, MediaController],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            prometheus.middleware,
            DefineMiddleware(BearerTokenMiddleware, authenticate=container.authenticate),
        ],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        ),
        openapi_config=OpenAPIConfig(
            title=settings.app_name,
            version=_version(),
            path="/",
            render_plugins=[SwaggerRenderPlugin(path="/docs")],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"BearerToken": []}],
            use_handler_docstrings=True,
        ),
        lifespan=[lifespan],
        logging_config=None,  # the entrypoint configures logging once for the process
        debug=False,
    )
    document_errors(app)
    return app


def _factory(provider: Callable[[], Any]) -> Callable[[], Any]:
    def provide() -> Any:
        return provider()

    return provide


def _broker_probe(settings: Settings) -> BrokerProbe | None:
    if not settings.rtls_mqtt_enabled:
        return None
    password = settings.rtls_mqtt_password
    return BrokerProbe(
        host=settings.mqtt_host,
        port=settings.rtls_mqtt_port,
        username=settings.rtls_mqtt_username,
        password=password.reveal() if password else None,
        tls=settings.rtls_mqtt_tls,
    )


async def bootstrap_from_settings(container: Container) -> None:
    settings: Settings = container.settings()
    if not settings.superadmin_email or settings.superadmin_password is None:
        return
    result = await container.bootstrap_superadmin().execute(
        settings.superadmin_email,
        settings.superadmin_name,
        settings.superadmin_password.reveal(),
    )
    if result.created:
        log.info("created superadmin %s", result.email)


def _version() -> str:
    try:
        return version("securityvision")
    except PackageNotFoundError:
        return "0.0.0"

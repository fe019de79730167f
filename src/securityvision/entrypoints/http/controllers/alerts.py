"""``/api/v1/alert-rules``, ``/api/v1/alert-events`` and ``/api/v1/webhooks``.

Alert rules and events: everyone signed in reads, ADMIN and above change rules. Webhooks are
an admin's business altogether (a subscription receives every event it asks for, and may
point anywhere): every route is ADMIN and above. A webhook's secret is write-only.
"""

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.alert_ports import AlertEventFilter, AlertRuleFilter
from securityvision.application.alerts import (
    CreateAlertRule,
    DeleteAlertRule,
    GetAlertEvent,
    GetAlertRule,
    ListAlertEvents,
    ListAlertRules,
    UpdateAlertRule,
)
from securityvision.application.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    GetWebhook,
    ListWebhookEventTypes,
    ListWebhooks,
    UpdateWebhook,
)
from securityvision.domain.alerts import AlertEventType, AlertRuleType
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_alerts import (
    AlertEventRead,
    AlertRuleCreate,
    AlertRuleRead,
    AlertRuleUpdate,
    WebhookCreate,
    WebhookEventTypeRead,
    WebhookRead,
    WebhookUpdate,
)

_ADMINS = [requires(Role.ADMIN)]

EventLimit = Annotated[
    int, Parameter(ge=1, le=1000, description="Events to return at most (the front end asks 50)")
]


class AlertRulesController(Controller):
    path = "/alert-rules"
    tags = ["alerts"]

    @get("/")
    async def list_rules(
        self,
        *,
        list_alert_rules: NamedDependency[ListAlertRules],
        rule_type: FromQuery[AlertRuleType | None] = None,
        group_id: FromQuery[int | None] = None,
        device_id: FromQuery[int | None] = None,
        is_active: FromQuery[bool | None] = None,
        # "create_incident" is also the name of a use case handed to handlers: aliased.
        opens_incidents: Annotated[bool | None, QueryParameter(name="create_incident")] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[AlertRuleRead]:
        """Ordered by id; the filters apply before ``skip``/``limit``."""
        where = AlertRuleFilter(
            rule_type=rule_type,
            group_id=group_id,
            device_id=device_id,
            is_active=is_active,
            create_incident=opens_incidents,
        )
        rules = await list_alert_rules.execute(where, skip=skip, limit=limit)
        return [AlertRuleRead.of(r) for r in rules]

    @post("/", status_code=HTTP_201_CREATED, guards=_ADMINS)
    async def create_rule(
        self, data: JSONBody[AlertRuleCreate], create_alert_rule: NamedDependency[CreateAlertRule]
    ) -> AlertRuleRead:
        """FORBIDDEN_SECTOR or DWELL_TIME (``max_dwell_seconds``, 300 by default); no
        ``device_id``: every gateway; no ``group_id``: everyone."""
        return AlertRuleRead.of(await create_alert_rule.execute(data.new_rule()))

    @get("/{rule_id:int}")
    async def get_rule(
        self, rule_id: FromPath[int], get_alert_rule: NamedDependency[GetAlertRule]
    ) -> AlertRuleRead:
        return AlertRuleRead.of(await get_alert_rule.execute(rule_id))

    @put("/{rule_id:int}", guards=_ADMINS)
    async def update_rule(
        self,
        rule_id: FromPath[int],
        data: JSONBody[AlertRuleUpdate],
        update_alert_rule: NamedDependency[UpdateAlertRule],
    ) -> AlertRuleRead:
        """Partial: only the fields sent change; a rule that stops applying closes its open
        alerts."""
        return AlertRuleRead.of(await update_alert_rule.execute(rule_id, data.changes()))

    @delete("/{rule_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_ADMINS)
    async def delete_rule(
        self, rule_id: FromPath[int], delete_alert_rule: NamedDependency[DeleteAlertRule]
    ) -> None:
        await delete_alert_rule.execute(rule_id)


class AlertEventsController(Controller):
    path = "/alert-events"
    tags = ["alerts"]

    @get("/")
    async def list_events(
        self,
        *,
        list_alert_events: NamedDependency[ListAlertEvents],
        event_type: FromQuery[AlertEventType | None] = None,
        rule_id: FromQuery[int | None] = None,
        device_id: FromQuery[int | None] = None,
        person_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
        is_open: FromQuery[bool | None] = None,
        skip: Skip = 0,
        limit: EventLimit = 50,
    ) -> list[AlertEventRead]:
        """Newest first (``started_at``); ``payload`` is a JSON string."""
        where = AlertEventFilter(
            event_type=event_type,
            rule_id=rule_id,
            device_id=device_id,
            person_id=person_id,
            tag_id=tag_id,
            is_open=is_open,
        )
        events = await list_alert_events.execute(where, skip=skip, limit=limit)
        return [AlertEventRead.of(e) for e in events]

    @get("/{event_id:int}")
    async def get_event(
        self, event_id: FromPath[int], get_alert_event: NamedDependency[GetAlertEvent]
    ) -> AlertEventRead:
        return AlertEventRead.of(await get_alert_event.execute(event_id))


class WebhooksController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]
    guards = _ADMINS

    @get("/event-types")
    async def event_types(
        self, list_webhook_event_types: NamedDependency[ListWebhookEventTypes]
    ) -> list[WebhookEventTypeRead]:
        """Every event type, with a sample of the exact body a delivery carries."""
        return [WebhookEventTypeRead.of(i) for i in list_webhook_event_types.execute()]

    @get("/")
    async def list_webhooks(
        self, list_webhooks: NamedDependency[ListWebhooks], skip: Skip = 0, limit: Limit = 100
    ) -> list[WebhookRead]:
        found = await list_webhooks.execute(skip=skip, limit=limit)
        return [WebhookRead.of(s) for s in found]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_webhook(
        self, data: JSONBody[WebhookCreate], create_webhook: NamedDependency[CreateWebhook]
    ) -> WebhookRead:
        """``secret_token`` is stored encrypted and never returned (``has_secret``)."""
        return WebhookRead.of(await create_webhook.execute(data.draft()))

    @get("/{webhook_id:int}")
    async def get_webhook(
        self, webhook_id: FromPath[int], get_webhook: NamedDependency[GetWebhook]
    ) -> WebhookRead:
        return WebhookRead.of(await get_webhook.execute(webhook_id))

    @put("/{webhook_id:int}")
    async def update_webhook(
        self,
        webhook_id: FromPath[int],
        data: JSONBody[WebhookUpdate],
        update_webhook: NamedDependency[UpdateWebhook],
    ) -> WebhookRead:
        """Partial; ``secret_token`` null or absent keeps the secret, ``""`` removes it."""
        return WebhookRead.of(await update_webhook.execute(webhook_id, data.changes()))

    @delete("/{webhook_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_webhook(
        self, webhook_id: FromPath[int], delete_webhook: NamedDependency[DeleteWebhook]
    ) -> None:
        await delete_webhook.execute(webhook_id)

"""Outbound webhooks: who subscribes to what, and how a change becomes deliveries.

A change never calls a subscriber. ``WebhookEvents.emit`` adds one outbox message per
(event, matching subscription) on the ``webhook`` channel, in the unit of work of the change;
the relay of that channel delivers them afterwards (adapters/webhooks.py signs each with the
subscription's secret at send time — the outbox holds no secret).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from securityvision.application.incident_pipeline import IncidentNotice, NoticeKind
from securityvision.application.incident_ports import SecretCipher
from securityvision.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from securityvision.domain.alerts import AlertEvent, AlertEventType, AlertRule, AlertRuleType
from securityvision.domain.devices import Device
from securityvision.domain.errors import InvalidInput, NotFound
from securityvision.domain.incidents import (
    Incident,
    IncidentMessage,
    IncidentStatus,
    MessageType,
    Severity,
)
from securityvision.domain.outbox import NewOutboxMessage
from securityvision.domain.people import Person
from securityvision.domain.rtls import Tag
from securityvision.domain.sites import Building
from securityvision.domain.webhooks import (
    WEBHOOK_CHANNEL,
    NewWebhookSubscription,
    WebhookEventType,
    WebhookSubscription,
    check_secret,
    checked_subscription,
    envelope,
)

_UNSET = msgspec.UNSET


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


# --- payloads (the same functions build the catalog's samples) -----------------------------


def alert_payload(event: AlertEvent) -> dict[str, Any]:
    """The original's alert payload: the stored payload plus the event's fields."""
    return dict(event.payload) | {
        "alert_event_id": event.id,
        "event_type": str(event.event_type),
        "message": event.message,
        "rule_id": event.rule_id,
        "device_id": event.device_id,
        "tag_id": event.tag_id,
        "person_id": event.person_id,
        "building_id": event.building_id,
        "floor_id": event.floor_id,
        "floor_plan_id": event.floor_plan_id,
        "incident_id": event.incident_id,
        "started_at": _iso(event.started_at),
        "last_seen_at": _iso(event.last_seen_at),
        "ended_at": _iso(event.ended_at),
        "is_open": event.is_open,
    }


def incident_payload(incident: Incident, previous: IncidentStatus | None) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "status": str(incident.status),
        "previous_status": None if previous is None else str(previous),
        "severity": str(incident.severity),
        "title": incident.title,
        "device_id": incident.device_id,
        "device_event_id": incident.device_event_id,
        "assigned_group_id": incident.assigned_group_id,
        "assigned_to_user_id": incident.assigned_to_user_id,
        "kind": incident.kind,
        "tenant": incident.tenant,
        "sla_minutes": incident.sla_minutes,
        "due_at": _iso(incident.due_at),
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "closed_at": _iso(incident.closed_at),
    }


def _source(message: IncidentMessage) -> str:
    """Where a timeline entry came from: the backend, Chatwoot (an operator's reply), or a
    person through the API."""
    if message.message_type is MessageType.SYSTEM:
        return "system"
    if message.message_type is MessageType.OPERATOR:
        return "chatwoot"
    return "api"


def message_payload(message: IncidentMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "incident_id": message.incident_id,
        "message_id": message.id,
        "message_type": str(message.message_type),
        "content": message.content,
        "author_name": message.author_name,
        "source": _source(message),
        "created_at": _iso(message.created_at),
    }
    if message.media_url is not None:
        payload["media_url"] = message.media_url
    if message.media_type is not None:
        payload["media_type"] = str(message.media_type)
    return payload


def rule_payload(rule: AlertRule) -> dict[str, Any]:
    fields = msgspec.to_builtins(rule)
    return {"rule_id": rule.id, **{k: v for k, v in fields.items() if k != "id"}}


def building_payload(building: Building) -> dict[str, Any]:
    return {
        "building_id": building.id,
        "name": building.name,
        "code": building.code,
        "label": building.name,
        "description": building.description,
        "created_at": _iso(building.created_at),
        "updated_at": _iso(building.updated_at),
    }


def person_payload(person: Person) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "full_name": person.full_name,
        "document_id": person.document_id,
        "email": person.email,
        "phone": person.phone,
        "user_type": person.user_type,
        "active": person.active,
        "created_at": _iso(person.created_at),
        "updated_at": _iso(person.updated_at),
    }


def tag_payload(tag: Tag) -> dict[str, Any]:
    return {
        "tag_id": tag.id,
        "code": None,
        "mac_address": tag.mac_address,
        "person_id": tag.person_id,
        "label": tag.label,
        "active": tag.active,
    }


def device_payload(device: Device) -> dict[str, Any]:
    """The device's identity and placement; never a credential."""
    return {
        "device_id": device.id,
        "name": device.name,
        "type": str(device.type),
        "code": device.code,
        "mac_address": device.mac_address,
        "floor_plan_id": device.floor_plan_id,
        "floor_id": device.floor_id,
        "building_id": device.building_id,
        "pos_x": device.pos_x,
        "pos_y": device.pos_y,
        "created_at": _iso(device.created_at),
        "updated_at": _iso(device.updated_at),
    }


DEVICE_POSITION_FIELDS = ("floor_plan_id", "pos_x", "pos_y")


def incident_event_type(notice: IncidentNotice) -> WebhookEventType:
    """INCIDENT_CREATED, INCIDENT_MESSAGE_CREATED, INCIDENT_REOPENED (closed → active),
    INCIDENT_STATUS_CHANGED (any other status change) or INCIDENT_UPDATED (no status
    change: assignment, severity, enrichment, an event joining it)."""
    if notice.kind is NoticeKind.CREATED:
        return WebhookEventType.INCIDENT_CREATED
    if notice.kind is NoticeKind.MESSAGE:
        return WebhookEventType.INCIDENT_MESSAGE_CREATED
    previous, current = notice.previous_status, notice.incident.status
    if previous is None or previous is current:
        return WebhookEventType.INCIDENT_UPDATED
    if not previous.is_active and current.is_active:
        return WebhookEventType.INCIDENT_REOPENED
    return WebhookEventType.INCIDENT_STATUS_CHANGED


# --- emitting -----------------------------------------------------------------------------


class WebhookEvents:
    """Turns events into outbox messages, one per (event, subscription wanting it), in the
    caller's unit of work. ``enabled=False`` (WEBHOOKS_ENABLED=false) enqueues nothing."""

    def __init__(self, clock: Clock, *, enabled: bool = True) -> None:
        self._clock = clock
        self._enabled = enabled

    async def emit(
        self, uow: UnitOfWork, events: Sequence[tuple[WebhookEventType, dict[str, Any]]]
    ) -> int:
        """Enqueue ``events`` (in order) for their subscribers; returns how many messages."""
        if not self._enabled or not events:
            return 0
        subscriptions = await uow.webhooks.wanting({t for t, _ in events})
        if not subscriptions:
            return 0
        now = self._clock.now()
        added = 0
        for event_type, payload in events:
            body: bytes | None = None
            for subscription in subscriptions:
                if not subscription.wants(event_type):
                    continue
                body = body or envelope(event_type, now, payload)
                await uow.outbox.add(
                    NewOutboxMessage(
                        channel=WEBHOOK_CHANNEL,
                        destination=str(subscription.id),
                        payload=body,
                        options={"event_type": str(event_type)},
                    )
                )
                added += 1
        return added

    async def tell(
        self, uow: UnitOfWork, event_type: WebhookEventType, payload: dict[str, Any]
    ) -> None:
        """One event (a change of the register: a building, person, tag or device)."""
        await self.emit(uow, [(event_type, payload)])

    async def tell_deleted(
        self, uow: UnitOfWork, event_type: WebhookEventType, key: str, ids: Sequence[int]
    ) -> None:
        """``{<key>: id, deleted_at}`` for each id removed."""
        at = self._clock.now().isoformat()
        await self.emit(uow, [(event_type, {key: i, "deleted_at": at}) for i in ids])


class WebhookIncidentNotices:
    """Incident changes to webhook subscribers (an ``IncidentNotifier``): every incident,
    whoever opened it — an operator, a camera rule or an alert rule."""

    def __init__(self, events: WebhookEvents) -> None:
        self._events = events

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None:
        event_type = incident_event_type(notice)
        if notice.message is not None:
            payload = message_payload(notice.message)
        else:
            payload = incident_payload(notice.incident, notice.previous_status)
        await self._events.emit(uow, [(event_type, payload)])


# --- subscriptions ------------------------------------------------------------------------


class WebhookDraft(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    secret_token: str | None = None
    event_type_filter: WebhookEventType | None = None
    is_active: bool = True


class WebhookChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update. ``secret_token``: left out or null keeps the secret (a form echoing
    what it read, where the secret is always null, must not erase it), ``""`` removes it,
    any other value replaces it."""

    name: str | msgspec.UnsetType = _UNSET
    url: str | msgspec.UnsetType = _UNSET
    secret_token: str | msgspec.UnsetType | None = _UNSET
    event_type_filter: WebhookEventType | msgspec.UnsetType | None = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET


def webhook_not_found(subscription_id: int) -> NotFound:
    return NotFound(f"webhook {subscription_id} not found", code="webhook_not_found")


def _encrypted(cipher: SecretCipher | None, secret: str) -> bytes:
    if cipher is None:
        raise InvalidInput(
            "DEVICE_SECRETS_KEY is not configured: a webhook secret cannot be stored safely",
            code="secrets_key_missing",
        )
    return cipher.encrypt(check_secret(secret))


class CreateWebhook:
    """A subscription: name, an absolute http(s) URL (any host), an optional filter (a known
    event type) and an optional secret, stored encrypted and never returned."""

    def __init__(self, uow: UnitOfWorkFactory, cipher: SecretCipher | None) -> None:
        self._uow = uow
        self._cipher = cipher

    async def execute(self, draft: WebhookDraft) -> WebhookSubscription:
        subscription = checked_subscription(
            NewWebhookSubscription(
                name=draft.name,
                url=draft.url,
                event_type_filter=draft.event_type_filter,
                is_active=draft.is_active,
            )
        )
        secret = _encrypted(self._cipher, draft.secret_token) if draft.secret_token else None
        async with self._uow() as uow:
            added = await uow.webhooks.add(subscription, secret)
            await uow.commit()
        return added


class UpdateWebhook:
    """Change the fields sent (``WebhookChanges`` says what the secret field does)."""

    def __init__(self, uow: UnitOfWorkFactory, cipher: SecretCipher | None) -> None:
        self._uow = uow
        self._cipher = cipher

    async def execute(self, subscription_id: int, changes: WebhookChanges) -> WebhookSubscription:
        values = {
            name: value
            for name in changes.__struct_fields__
            if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        secret = values.pop("secret_token", None)
        encrypted = _encrypted(self._cipher, secret) if secret else None
        async with self._uow() as uow:
            current = await uow.webhooks.get(subscription_id)
            if current is None:
                raise webhook_not_found(subscription_id)
            saved = current
            if values:
                changed = checked_subscription(msgspec.structs.replace(current, **values))
                saved = await uow.webhooks.update(changed)
            if secret is not None:
                await uow.webhooks.set_secret(subscription_id, encrypted)
                saved = await uow.webhooks.get(subscription_id) or saved
            await uow.commit()
        return saved


class GetWebhook:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, subscription_id: int) -> WebhookSubscription:
        async with self._uow() as uow:
            found = await uow.webhooks.get(subscription_id)
        if found is None:
            raise webhook_not_found(subscription_id)
        return found


class ListWebhooks:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> Sequence[WebhookSubscription]:
        async with self._uow() as uow:
            return await uow.webhooks.list(skip=skip, limit=limit)


class DeleteWebhook:
    """Remove a subscription; what was still waiting for it is set aside as dead letters
    when the relay comes to it."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, subscription_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.webhooks.delete(subscription_id):
                raise webhook_not_found(subscription_id)
            await uow.commit()


# --- the catalog --------------------------------------------------------------------------


class EventTypeInfo(msgspec.Struct, frozen=True, kw_only=True):
    event_type: WebhookEventType
    label: str
    description: str
    sample_payload: dict[str, Any]


_SAMPLE_AT = datetime(2025, 1, 15, 13, 45, 12, tzinfo=UTC)


def _sample_alert(event_type: AlertEventType, **payload: Any) -> AlertEvent:
    is_open = event_type is not AlertEventType.GATEWAY_ONLINE
    presence = event_type in (AlertEventType.FORBIDDEN_SECTOR, AlertEventType.DWELL_TIME)
    return AlertEvent(
        id=100,
        event_type=event_type,
        rule_id=1 if presence else None,
        person_id=42 if presence else None,
        tag_id=7 if presence else None,
        device_id=10,
        floor_plan_id=3,
        floor_id=2,
        building_id=1,
        started_at=_SAMPLE_AT,
        last_seen_at=_SAMPLE_AT,
        ended_at=None if is_open else _SAMPLE_AT,
        is_open=is_open,
        message=payload.pop("message"),
        payload=payload,
        created_at=_SAMPLE_AT,
        updated_at=_SAMPLE_AT,
    )


def _sample_incident() -> Incident:
    return Incident(
        id=501,
        device_id=10,
        title="Entrada em setor proibido: Fulano de Tal no gateway 'Gateway Entrada'.",
        kind="ALERT_FORBIDDEN_SECTOR",
        status=IncidentStatus.OPEN,
        severity=Severity.HIGH,
        sla_minutes=60,
        due_at=_SAMPLE_AT.replace(hour=14),
        assigned_group_id=3,
        created_at=_SAMPLE_AT,
        updated_at=_SAMPLE_AT,
    )


def _samples() -> dict[WebhookEventType, dict[str, Any]]:
    incident = _sample_incident()
    in_progress = msgspec.structs.replace(incident, status=IncidentStatus.IN_PROGRESS)
    message = IncidentMessage(
        id=901,
        incident_id=501,
        message_type=MessageType.COMMENT,
        content="Equipe em deslocamento para verificação.",
        author_name="Operador",
        created_at=_SAMPLE_AT,
    )
    rule = AlertRule(
        id=1,
        name="Visitantes fora do data center",
        rule_type=AlertRuleType.FORBIDDEN_SECTOR,
        group_id=5,
        device_id=10,
        create_incident=True,
        incident_severity=Severity.HIGH,
        created_at=_SAMPLE_AT,
        updated_at=_SAMPLE_AT,
    )
    building = {
        "building_id": 1,
        "name": "Edifício Central",
        "code": "EDIFICIO_CENTRAL",
        "label": "Edifício Central",
        "description": None,
        "created_at": _iso(_SAMPLE_AT),
        "updated_at": _iso(_SAMPLE_AT),
    }
    person = {
        "person_id": 42,
        "full_name": "Fulano de Tal",
        "document_id": "00000000000",
        "email": None,
        "phone": None,
        "user_type": None,
        "active": True,
        "created_at": _iso(_SAMPLE_AT),
        "updated_at": _iso(_SAMPLE_AT),
    }
    tag = {
        "tag_id": 7,
        "code": None,
        "mac_address": "AA:BB:CC:DD:EE:99",
        "person_id": 42,
        "label": "Crachá 7",
        "active": True,
    }
    device = {
        "device_id": 10,
        "name": "Gateway Entrada",
        "type": "BLE_GATEWAY",
        "code": "GW_AABBCCDDEEFF",
        "mac_address": "AA:BB:CC:DD:EE:FF",
        "floor_plan_id": 3,
        "floor_id": 2,
        "building_id": 1,
        "pos_x": 0.25,
        "pos_y": 0.75,
        "created_at": _iso(_SAMPLE_AT),
        "updated_at": _iso(_SAMPLE_AT),
    }
    deleted = {"deleted_at": _iso(_SAMPLE_AT)}
    forbidden = _sample_alert(
        AlertEventType.FORBIDDEN_SECTOR,
        message="Entrada em setor proibido: Fulano de Tal no gateway 'Gateway Entrada'.",
        person_name="Fulano de Tal",
        tag_mac="AA:BB:CC:DD:EE:99",
        device_name="Gateway Entrada",
        duration_seconds=0,
    )
    dwell = _sample_alert(
        AlertEventType.DWELL_TIME,
        message="Fulano de Tal está há 600s no dispositivo Gateway Entrada (limite 600s).",
        person_name="Fulano de Tal",
        tag_mac="AA:BB:CC:DD:EE:99",
        device_name="Gateway Entrada",
        duration_seconds=600,
        max_dwell_seconds=600,
    )
    offline = _sample_alert(
        AlertEventType.GATEWAY_OFFLINE,
        message="Gateway 'Gateway Entrada' ficou OFFLINE.",
        device_name="Gateway Entrada",
        offline_seconds=75,
        gateway_last_seen_at=_iso(_SAMPLE_AT),
    )
    online = _sample_alert(
        AlertEventType.GATEWAY_ONLINE,
        message="Gateway 'Gateway Entrada' voltou a ficar online.",
        device_name="Gateway Entrada",
        offline_seconds=300,
    )
    return {
        WebhookEventType.BUILDING_CREATED: building,
        WebhookEventType.BUILDING_UPDATED: building,
        WebhookEventType.BUILDING_DELETED: {"building_id": 1, **deleted},
        WebhookEventType.PERSON_CREATED: person,
        WebhookEventType.PERSON_UPDATED: person,
        WebhookEventType.PERSON_DELETED: {"person_id": 42, **deleted},
        WebhookEventType.TAG_CREATED: tag,
        WebhookEventType.TAG_UPDATED: tag,
        WebhookEventType.TAG_DELETED: {"tag_id": 7, **deleted},
        WebhookEventType.DEVICE_CREATED: device,
        WebhookEventType.DEVICE_UPDATED: device,
        WebhookEventType.DEVICE_DELETED: {"device_id": 10, **deleted},
        WebhookEventType.DEVICE_POSITION_UPDATED: device,
        WebhookEventType.ALERT_RULE_CREATED: rule_payload(rule),
        WebhookEventType.ALERT_RULE_UPDATED: rule_payload(rule),
        WebhookEventType.ALERT_RULE_DELETED: {"rule_id": 1, **deleted},
        WebhookEventType.FORBIDDEN_SECTOR: alert_payload(forbidden),
        WebhookEventType.DWELL_TIME: alert_payload(dwell),
        WebhookEventType.GATEWAY_OFFLINE: alert_payload(offline),
        WebhookEventType.GATEWAY_ONLINE: alert_payload(online),
        WebhookEventType.INCIDENT_CREATED: incident_payload(incident, None),
        WebhookEventType.INCIDENT_UPDATED: incident_payload(incident, IncidentStatus.OPEN),
        WebhookEventType.INCIDENT_STATUS_CHANGED: incident_payload(
            in_progress, IncidentStatus.OPEN
        ),
        WebhookEventType.INCIDENT_REOPENED: incident_payload(incident, IncidentStatus.RESOLVED),
        WebhookEventType.INCIDENT_MESSAGE_CREATED: message_payload(message),
    }


_LABELS: dict[WebhookEventType, tuple[str, str]] = {
    WebhookEventType.BUILDING_CREATED: ("Criação de prédio", "Um prédio foi criado."),
    WebhookEventType.BUILDING_UPDATED: ("Alteração de prédio", "Um prédio foi alterado."),
    WebhookEventType.BUILDING_DELETED: ("Remoção de prédio", "Um prédio foi removido."),
    WebhookEventType.PERSON_CREATED: ("Criação de pessoa", "Uma pessoa foi cadastrada."),
    WebhookEventType.PERSON_UPDATED: ("Alteração de pessoa", "Uma pessoa foi alterada."),
    WebhookEventType.PERSON_DELETED: ("Remoção de pessoa", "Uma pessoa foi removida."),
    WebhookEventType.TAG_CREATED: ("Criação de TAG", "Uma TAG BLE foi cadastrada."),
    WebhookEventType.TAG_UPDATED: ("Alteração de TAG", "Uma TAG BLE foi alterada."),
    WebhookEventType.TAG_DELETED: ("Remoção de TAG", "Uma TAG BLE foi removida."),
    WebhookEventType.DEVICE_CREATED: ("Criação de dispositivo", "Um dispositivo foi criado."),
    WebhookEventType.DEVICE_UPDATED: ("Alteração de dispositivo", "Um dispositivo foi alterado."),
    WebhookEventType.DEVICE_DELETED: ("Remoção de dispositivo", "Um dispositivo foi removido."),
    WebhookEventType.DEVICE_POSITION_UPDATED: (
        "Posição de dispositivo",
        "Um dispositivo foi posicionado na planta.",
    ),
    WebhookEventType.ALERT_RULE_CREATED: ("Criação de regra de alerta", "Regra de alerta criada."),
    WebhookEventType.ALERT_RULE_UPDATED: (
        "Alteração de regra de alerta",
        "Regra de alerta alterada.",
    ),
    WebhookEventType.ALERT_RULE_DELETED: ("Remoção de regra de alerta", "Regra removida."),
    WebhookEventType.FORBIDDEN_SECTOR: (
        "Alerta: setor proibido",
        "Alguém de um grupo proibido entrou no setor de um gateway (ao abrir e ao encerrar).",
    ),
    WebhookEventType.DWELL_TIME: (
        "Alerta: tempo de permanência",
        "A permanência no setor de um gateway passou do limite da regra (ao abrir e ao encerrar).",
    ),
    WebhookEventType.GATEWAY_OFFLINE: (
        "Alerta: gateway offline",
        "Um gateway ficou em silêncio além do limite (ao abrir e ao encerrar).",
    ),
    WebhookEventType.GATEWAY_ONLINE: (
        "Alerta: gateway online",
        "Um gateway que estava offline voltou.",
    ),
    WebhookEventType.INCIDENT_CREATED: (
        "Criação de incidente",
        "Um incidente foi aberto: por um operador, por uma regra de câmera ou de alerta.",
    ),
    WebhookEventType.INCIDENT_UPDATED: (
        "Alteração de incidente",
        "Um incidente mudou sem mudar de status (atribuição, severidade, evento agrupado).",
    ),
    WebhookEventType.INCIDENT_STATUS_CHANGED: (
        "Status do incidente alterado",
        "O status de um incidente mudou.",
    ),
    WebhookEventType.INCIDENT_REOPENED: (
        "Reabertura de incidente",
        "Um incidente encerrado voltou a um status ativo.",
    ),
    WebhookEventType.INCIDENT_MESSAGE_CREATED: (
        "Mensagem do incidente criada",
        "Uma mensagem entrou na linha do tempo de um incidente.",
    ),
}


def event_type_catalog() -> list[EventTypeInfo]:
    """Every event type with a sample *body*, exactly as deliveries carry it."""
    samples = _samples()
    return [
        EventTypeInfo(
            event_type=event_type,
            label=_LABELS[event_type][0],
            description=_LABELS[event_type][1],
            sample_payload=msgspec.json.decode(
                envelope(event_type, _SAMPLE_AT, samples[event_type])
            ),
        )
        for event_type in WebhookEventType
    ]


class ListWebhookEventTypes:
    def execute(self) -> list[EventTypeInfo]:
        return event_type_catalog()


__all__ = [
    "CreateWebhook",
    "DeleteWebhook",
    "EventTypeInfo",
    "GetWebhook",
    "ListWebhookEventTypes",
    "ListWebhooks",
    "UpdateWebhook",
    "WebhookChanges",
    "WebhookDraft",
    "WebhookEvents",
    "WebhookIncidentNotices",
    "alert_payload",
    "event_type_catalog",
    "incident_event_type",
    "incident_payload",
    "message_payload",
    "rule_payload",
]

"""Cameras, the incident pipeline and incidents as operators work them: the use cases on the
in-memory adapters."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from securityvision.adapters.media import InMemoryMediaStore
from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.cameras import CameraEventDraft, CameraPassword
from securityvision.application.devices import DeviceChanges
from securityvision.application.incident_pipeline import (
    EventMedia,
    IncidentNotice,
    IncidentNotifiers,
    Outcome,
)
from securityvision.application.incidents import (
    FromEventRequest,
    IncidentChanges,
    IncidentDetails,
    IncidentDraft,
    MessageDraft,
)
from securityvision.application.ports import UnitOfWork
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.cameras import NewCameraGroup, NewDeviceEvent
from securityvision.domain.devices import Device, DeviceType, NewDevice
from securityvision.domain.errors import Conflict, InvalidInput
from securityvision.domain.identity import NewUser, Role, User
from securityvision.domain.incident_rules import DEFAULT_RULES, NewIncidentRule, NewSupportGroup
from securityvision.domain.incidents import (
    Incident,
    IncidentMessage,
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncident,
    Severity,
)
from securityvision.domain.media import MediaKind, StoredMedia
from tests.support import images
from tests.support.clock import FakeClock

SECRETS_KEY = "device-secrets-" + "k" * 40


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


@pytest.fixture
def media() -> InMemoryMediaStore:
    return InMemoryMediaStore()


def make_container(
    clock: FakeClock, storage: InMemoryStorage, media: InMemoryMediaStore, **env: str
) -> Container:
    settings = load_settings(
        {"SVPOS_SECRET_KEY": "k" * 48, "MEDIA_MAX_BYTES": "10000", **env}, env_file=None
    )
    return build_container(settings, storage=storage, clock=clock, media_store=media)


@pytest.fixture
def container(clock: FakeClock, storage: InMemoryStorage, media: InMemoryMediaStore) -> Container:
    return make_container(clock, storage, media, DEVICE_SECRETS_KEY=SECRETS_KEY)


async def add_camera(container: Container, code: str = "fixa01", name: str = "Portaria") -> Device:
    return await container.create_camera().execute(NewDevice(name=name, code=code))


async def add_rules(storage: InMemoryStorage, *rules: NewIncidentRule) -> list[int]:
    async with storage.unit_of_work() as uow:
        ids = [(await uow.incident_rules.add(rule)).id for rule in rules]
        await uow.commit()
    return ids


async def add_user(storage: InMemoryStorage, email: str, role: Role = Role.OPERATOR) -> User:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(
            NewUser(
                email=email,
                full_name=email.split("@", maxsplit=1)[0].title(),
                hashed_password="x",
                role=role,
            )
        )
        await uow.commit()
    return added


def capture(event_id: str = "json-1", **meta: Any) -> dict[str, Any]:
    """cam-bus's faceCapture, as CLIENTS.md §15 shows it."""
    return {
        "Timestamp": "2025-01-15T13:45:12Z",
        "EventID": event_id,
        "CameraIP": "10.0.0.10",
        "CameraName": "Portaria",
        "AnalyticType": "faceCapture",
        "Tenant": "default",
        "Building": "predio_a",
        "Floor": "terreo",
        "DeviceType": "camera",
        "DeviceID": "fixa01",
        "Meta": {"eventType": "faceCapture", "facesCount": 1, **meta},
    }


def recognized(event_id: str = "json-1", **meta: Any) -> dict[str, Any]:
    payload = capture(event_id, ff_card_id=123, ff_person_name="12345678900", ff_confidence=0.9312)
    payload["Meta"].update(meta)
    return payload | {"AnalyticType": "faceRecognized"}


async def record(
    container: Container,
    device: Device,
    payload: dict[str, Any],
    *,
    at: datetime,
    analytic_type: str | None = None,
) -> tuple[Outcome, Incident | None]:
    draft = CameraEventDraft(
        analytic_type=analytic_type or payload["AnalyticType"], payload=payload, occurred_at=at
    )
    recorded = await container.record_camera_event().execute(device.id, draft)
    return recorded.pipeline.outcome, recorded.pipeline.incident


async def incidents(storage: InMemoryStorage) -> list[Incident]:
    async with storage.unit_of_work() as uow:
        return list(await uow.incidents.list())


async def timeline(storage: InMemoryStorage, incident_id: int) -> list[IncidentMessage]:
    async with storage.unit_of_work() as uow:
        return list(await uow.incident_messages.list(incident_id))


async def test_a_face_capture_opens_an_incident_with_the_default_rules(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    outcome, opened = await record(container, camera, capture(), at=clock.now())
    assert outcome is Outcome.OPENED
    assert opened is not None
    assert (opened.kind, opened.severity, opened.status) == (
        "CAMERA_FACE",
        Severity.MEDIUM,
        IncidentStatus.OPEN,
    )
    assert opened.title == "[AUTO] faceCapture na câmera Portaria"
    assert (opened.sla_minutes, opened.due_at) == (240, clock.now() + timedelta(minutes=240))
    assert (opened.tenant, opened.person_key, opened.created_by_user_id) == (
        "default",
        "unknown",
        None,
    )
    (summary,) = await timeline(storage, opened.id)
    assert summary.message_type is MessageType.SYSTEM
    assert "Regra: Captura de face (padrão)" in summary.content
    assert "Prédio: predio_a • Andar/Setor: terreo" in summary.content
    assert "Severidade: MEDIUM • Status: OPEN" in summary.content


async def test_an_event_no_rule_matches_opens_nothing(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, NewIncidentRule(name="off", analytic_type="VMD", enabled=False))
    camera = await add_camera(container)
    outcome, opened = await record(
        container, camera, {"EventID": "x"}, at=clock.now(), analytic_type="VMD"
    )
    assert (outcome, opened) == (Outcome.NO_RULE, None)
    assert await incidents(storage) == []


async def test_several_matching_rules_open_one_incident_from_the_most_specific(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    async with storage.unit_of_work() as uow:
        group = await uow.camera_groups.add(NewCameraGroup(name="Gates"))
        await uow.camera_groups.set_devices(group.id, [camera.id])
        await uow.commit()
    _, _, for_camera = await add_rules(
        storage,
        NewIncidentRule(name="global", analytic_type="VMD", severity=Severity.CRITICAL),
        NewIncidentRule(
            name="group", analytic_type="VMD", camera_group_id=group.id, severity=Severity.HIGH
        ),
        NewIncidentRule(
            name="camera", analytic_type="VMD", device_id=camera.id, severity=Severity.LOW
        ),
    )
    _, opened = await record(
        container, camera, {"EventID": "v1"}, at=clock.now(), analytic_type="VMD"
    )
    assert opened is not None
    assert (opened.rule_id, opened.severity) == (for_camera, Severity.LOW)
    assert len(await incidents(storage)) == 1


async def test_among_equally_specific_rules_the_most_severe_wins(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    _, severe = await add_rules(
        storage,
        NewIncidentRule(name="medium", analytic_type="VMD"),
        NewIncidentRule(name="critical", analytic_type="VMD", severity=Severity.CRITICAL),
    )
    _, opened = await record(container, camera, {}, at=clock.now(), analytic_type="VMD")
    assert opened is not None
    assert (opened.rule_id, opened.sla_minutes) == (severe, 15)


async def test_events_of_one_camera_rule_and_person_within_the_cooldown_join(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    other_camera = await add_camera(container, "doca01", "Doca")
    t0 = clock.now()
    _, first = await record(container, camera, capture("a"), at=t0)
    outcome, joined = await record(container, camera, capture("b"), at=t0 + timedelta(seconds=30))
    # The window slides: 50 s after the last joined event is still within 60 s.
    _, slid = await record(container, camera, capture("c"), at=t0 + timedelta(seconds=80))
    _, elsewhere = await record(
        container, other_camera, capture("d"), at=t0 + timedelta(seconds=81)
    )
    _, later = await record(container, camera, capture("e"), at=t0 + timedelta(seconds=200))
    assert first is not None
    assert joined is not None
    assert slid is not None
    assert outcome is Outcome.JOINED
    assert joined.id == first.id == slid.id
    assert elsewhere is not None
    assert later is not None
    assert len({first.id, elsewhere.id, later.id}) == 3
    assert slid.last_event_at == t0 + timedelta(seconds=80)
    messages = await timeline(storage, first.id)
    assert [m.message_type for m in messages] == [MessageType.SYSTEM] * 3
    assert "agrupado a este incidente" in messages[1].content


async def test_another_person_or_a_closed_incident_is_not_joined(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    t0 = clock.now()
    _, ana = await record(container, camera, recognized("a", ff_card_id=1), at=t0)
    _, bia = await record(container, camera, recognized("b", ff_card_id=2), at=t0)
    _, ana_again = await record(container, camera, recognized("c", ff_card_id=1), at=t0)
    assert ana is not None
    assert bia is not None
    assert ana_again is not None
    assert ana.id == ana_again.id != bia.id
    operator = await add_user(storage, "op@x.io")
    await container.update_incident().execute(
        ana.id, IncidentChanges(status=IncidentStatus.RESOLVED), operator
    )
    _, after_close = await record(container, camera, recognized("d", ff_card_id=1), at=t0)
    assert after_close is not None
    assert after_close.id not in (ana.id, bia.id)


async def test_a_recognition_enriches_the_incident_its_capture_opened(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    capture_rule, _ = await add_rules(
        storage,
        NewIncidentRule(name="capture", analytic_type="faceCapture"),
        NewIncidentRule(name="watchlist", analytic_type="faceRecognized", severity=Severity.HIGH),
    )
    camera = await add_camera(container)
    _, opened = await record(container, camera, capture("json-9"), at=clock.now())
    clock.advance(seconds=2)
    outcome, enriched = await record(container, camera, recognized("json-9"), at=clock.now())
    assert opened is not None
    assert enriched is not None
    assert outcome is Outcome.ENRICHED
    assert enriched.id == opened.id
    assert (enriched.person_name, enriched.confidence) == ("12345678900", 0.9312)
    assert (enriched.severity, enriched.sla_minutes) == (Severity.HIGH, 60)
    assert enriched.due_at == opened.created_at + timedelta(minutes=60)
    assert enriched.rule_id == capture_rule
    assert len(await incidents(storage)) == 1
    last = (await timeline(storage, opened.id))[-1]
    assert "Pessoa reconhecida: 12345678900" in last.content
    assert "Confiança: 93.1%" in last.content
    assert "Severidade elevada de MEDIUM para HIGH" in last.content


async def test_running_the_pipeline_again_for_an_event_changes_nothing(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    assert opened.device_event_id is not None
    again = await container.open_incidents_for_event().execute(opened.device_event_id)
    assert (again.outcome, again.incident) == (Outcome.EXISTING, opened)
    assert len(await timeline(storage, opened.id)) == 1


async def test_stored_media_are_attached_as_media_messages(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    async with storage.unit_of_work() as uow:
        stored = await uow.device_events.add(
            NewDeviceEvent(
                device_id=camera.id,
                analytic_type="faceCapture",
                payload=capture(),
                occurred_at=clock.now(),
                event_id="json-1",
            )
        )
        await uow.commit()
    snapshot = StoredMedia(
        kind=MediaKind.INCIDENTS, file_name="a" * 64 + ".jpg", content_type="image/jpeg", size=9
    )
    result = await container.open_incidents_for_event().execute(
        stored.id, [EventMedia(media=snapshot)]
    )
    assert result.incident is not None
    _, picture = await timeline(storage, result.incident.id)
    assert (picture.message_type, picture.media_type) == (MessageType.MEDIA, MediaType.IMAGE)
    assert picture.media_url == "/media/incidents/" + "a" * 64 + ".jpg"
    assert picture.content.startswith("Snapshot do evento faceCapture às ")


async def test_templates_fill_known_names_and_leave_the_rest_as_written(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(
        storage,
        NewIncidentRule(
            name="tpl",
            analytic_type="VMD",
            title_template="{camera_name} {device_code} {nobody} {camera_name.__class__} {0}",
            description_template="{rule_name}: {analytic_type} em {building}/{floor} {",
        ),
    )
    camera = await add_camera(container)
    _, opened = await record(
        container, camera, {"Building": "A", "Floor": "T"}, at=clock.now(), analytic_type="VMD"
    )
    assert opened is not None
    assert opened.title == "Portaria fixa01 {nobody} {camera_name.__class__} {0}"
    # Not a valid format string at all: kept as the operator wrote it.
    assert opened.description == "{rule_name}: {analytic_type} em {building}/{floor} {"


async def test_the_payloads_tenant_is_read_in_any_case_and_narrows_the_rules(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    acme_rule, _ = await add_rules(
        storage,
        NewIncidentRule(name="acme", analytic_type="VMD", tenant="ACME"),
        NewIncidentRule(name="other", analytic_type="VMD", tenant="other", severity=Severity.HIGH),
    )
    camera = await add_camera(container)
    _, opened = await record(
        container, camera, {"tenant": "acme"}, at=clock.now(), analytic_type="VMD"
    )
    _, none = await record(
        container, camera, {"TENANT": "nobody"}, at=clock.now(), analytic_type="VMD"
    )
    assert opened is not None
    assert (opened.rule_id, opened.tenant) == (acme_rule, "acme")
    assert none is None


async def test_status_changes_are_validated_and_leave_timeline_entries(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    operator = await add_user(storage, "ana@x.io")
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    update = container.update_incident()
    clock.advance(minutes=5)
    resolved = await update.execute(
        opened.id, IncidentChanges(status=IncidentStatus.RESOLVED), operator
    )
    assert resolved.incident.closed_at == clock.now()
    with pytest.raises(InvalidInput) as caught:
        await update.execute(
            opened.id, IncidentChanges(status=IncidentStatus.FALSE_POSITIVE), operator
        )
    assert caught.value.code == "invalid_status_transition"
    same = await update.execute(
        opened.id, IncidentChanges(status=IncidentStatus.RESOLVED), operator
    )
    assert same.incident == resolved.incident
    reopened = await update.execute(
        opened.id, IncidentChanges(status=IncidentStatus.IN_PROGRESS), operator
    )
    assert reopened.incident.closed_at is None
    entries = [m for m in await timeline(storage, opened.id) if m.author_name == "Ana"]
    assert [m.content for m in entries] == [
        "Status alterado de OPEN para RESOLVED.",
        "Status alterado de RESOLVED para IN_PROGRESS.",
    ]
    assert {m.message_type for m in entries} == {MessageType.SYSTEM}


async def test_assignees_and_group_are_stored_and_read_back(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    ana, bia = await add_user(storage, "ana@x.io"), await add_user(storage, "bia@x.io")
    async with storage.unit_of_work() as uow:
        group = await uow.support_groups.add(NewSupportGroup(name="NOC", default_sla_minutes=30))
        await uow.commit()
    created = await container.create_incident().execute(
        IncidentDraft(
            device_id=camera.id,
            title="Porta aberta",
            assigned_group_id=group.id,
            assignee_ids=(bia.id, ana.id),
        ),
        ana,
    )
    assert created.incident.created_by_user_id == ana.id
    assert created.incident.sla_minutes == 30
    assert created.group == group
    assert [u.id for u in created.assignees] == [ana.id, bia.id]
    changed = await container.update_incident().execute(
        created.incident.id, IncidentChanges(assignee_ids=(bia.id,), sla_minutes=90), ana
    )
    assert [u.id for u in changed.assignees] == [bia.id]
    assert changed.incident.due_at == created.incident.created_at + timedelta(minutes=90)


async def test_from_event_is_idempotent_and_opens_even_without_a_rule(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    operator = await add_user(storage, "ana@x.io")
    outcome, none = await record(container, camera, {}, at=clock.now(), analytic_type="VMD")
    assert (outcome, none) == (Outcome.NO_RULE, None)
    async with storage.unit_of_work() as uow:
        (stored,) = await uow.device_events.list_for_device(camera.id)
    request = FromEventRequest(
        device_event_id=stored.id, title="Movimento", severity=Severity.HIGH, sla_minutes=45
    )
    first = await container.open_incident_from_event().execute(request, operator)
    again = await container.open_incident_from_event().execute(request, operator)
    assert first == again
    assert (first.incident.title, first.incident.severity, first.incident.sla_minutes) == (
        "Movimento",
        Severity.HIGH,
        45,
    )
    assert (first.incident.created_by_user_id, first.incident.kind) == (
        operator.id,
        "CAMERA_EVENT",
    )
    issue = await container.open_incident_for_device_event().execute(stored.id, operator)
    assert issue == first


async def test_a_camera_issue_is_opened_from_a_cameras_event(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    operator = await add_user(storage, "ana@x.io")
    await record(container, camera, {"status": "offline"}, at=clock.now(), analytic_type="status")
    async with storage.unit_of_work() as uow:
        (stored,) = await uow.device_events.list_for_device(camera.id)
    found: IncidentDetails = await container.open_incident_for_device_event().execute(
        stored.id, operator
    )
    assert (found.incident.kind, found.incident.title) == (
        "CAMERA_ISSUE",
        "Problema na câmera Portaria",
    )


async def test_camera_passwords_are_encrypted_and_refused_without_a_key(
    clock: FakeClock, storage: InMemoryStorage, media: InMemoryMediaStore, container: Container
) -> None:
    camera = await container.create_camera().execute(
        NewDevice(name="Portaria", code="fixa01", type=DeviceType.BLE_GATEWAY),
        CameraPassword(value="s3cret!"),
    )
    assert (camera.type, camera.shard) == (DeviceType.CAMERA, "shard-1")
    async with storage.unit_of_work() as uow:
        encrypted = await uow.device_secrets.password(camera.id)
    assert encrypted is not None
    assert b"s3cret!" not in encrypted
    assert container.secret_cipher().decrypt(encrypted) == "s3cret!"
    keyless = make_container(clock, storage, media)
    with pytest.raises(InvalidInput) as caught:
        await keyless.update_camera().execute(
            camera.id, DeviceChanges(), CameraPassword(value="other")
        )
    assert caught.value.code == "secrets_key_missing"
    cleared = await keyless.update_camera().execute(
        camera.id, DeviceChanges(name="Gate"), CameraPassword(value=None)
    )
    assert cleared.name == "Gate"
    async with storage.unit_of_work() as uow:
        assert await uow.device_secrets.password(camera.id) is None


async def test_only_cameras_are_updated_through_the_camera_use_case(
    container: Container,
) -> None:
    gateway = await container.create_device().execute(NewDevice(name="GW"))
    with pytest.raises(InvalidInput) as caught:
        await container.update_camera().execute(gateway.id, DeviceChanges(name="x"))
    assert caught.value.code == "not_a_camera"


async def test_secrets_in_an_event_payload_are_never_stored(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    camera = await add_camera(container)
    draft = CameraEventDraft(
        analytic_type="cambus_info",
        payload={"ip": "10.0.0.10", "password": "s3cret", "Nested": [{"Token": "t"}]},
    )
    recorded = await container.record_camera_event().execute(camera.id, draft)
    assert recorded.event.payload == {"ip": "10.0.0.10", "Nested": [{}]}
    assert recorded.event.occurred_at == clock.now()


async def test_people_comment_by_default_and_never_write_system_entries(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    operator = await add_user(storage, "ana@x.io")
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    post = container.post_incident_message()
    message = await post.execute(opened.id, MessageDraft(content="Verificando"), operator)
    assert (message.message_type, message.author_name) == (MessageType.COMMENT, "Ana")
    for draft, code in [
        (MessageDraft(content="x", message_type=MessageType.SYSTEM), "message_type_not_allowed"),
        (MessageDraft(content="  "), "content_required"),
        (MessageDraft(content="x" * 8001), "too_long"),
        (MessageDraft(content="x", media_url="javascript:alert(1)"), "invalid_media_url"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            await post.execute(opened.id, draft, operator)
        assert caught.value.code == code
    after = await container.list_incident_messages().execute(opened.id, after_id=message.id - 1)
    assert after == [message]


async def test_images_are_attached_and_other_files_refused(
    container: Container, storage: InMemoryStorage, media: InMemoryMediaStore, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    operator = await add_user(storage, "ana@x.io")
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    attach = container.attach_file_to_incident()
    image = images.png()
    message = await attach.execute(
        opened.id, image, file_name="../../etc/porta\x00.png", description=None, actor=operator
    )
    assert message.message_type is MessageType.MEDIA
    assert message.media_url is not None
    assert message.media_url.startswith("/media/incidents/")
    assert message.media_name == "etc_porta_.png"
    assert message.content == "Arquivo anexado: etc_porta_.png"
    assert len(media.files) == 1
    with pytest.raises(InvalidInput) as caught:
        await attach.execute(
            opened.id, b"%PDF-1.7\n...", file_name="a.pdf", description="pdf", actor=operator
        )
    assert caught.value.code == "unsupported_image_type"
    assert len(media.files) == 1


async def test_a_support_group_in_use_cannot_be_deleted(
    container: Container, storage: InMemoryStorage
) -> None:
    camera = await add_camera(container)
    ana = await add_user(storage, "ana@x.io")
    group = await container.create_support_group().execute(
        NewSupportGroup(name="NOC"), member_ids=[ana.id]
    )
    assert [m.id for m in group.members] == [ana.id]
    async with storage.unit_of_work() as uow:
        await uow.incidents.add(
            NewIncident(
                device_id=camera.id,
                title="t",
                kind="CAMERA_EVENT",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                assigned_group_id=group.group.id,
            )
        )
        await uow.commit()
    with pytest.raises(Conflict) as caught:
        await container.delete_support_group().execute(group.group.id)
    assert caught.value.code == "support_group_in_use"


async def test_incident_changes_reach_the_live_event_stream_once_committed(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    created = [e for e in storage.event_bus.published if e.event == "incident.created"]
    assert [e.data["id"] for e in created] == [opened.id]
    assert created[0].data["status"] == "OPEN"
    assert created[0].data["title"] == opened.title


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, str, int]]) -> None:
        self.name = name
        self.log = log

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None:
        self.log.append((self.name, str(notice.kind), notice.incident.id))


async def test_every_notifier_hears_every_change_in_order(
    clock: FakeClock, storage: InMemoryStorage, media: InMemoryMediaStore
) -> None:
    log: list[tuple[str, str, int]] = []
    container = make_container(clock, storage, media, DEVICE_SECRETS_KEY=SECRETS_KEY)
    container.incident_notifier.override(
        IncidentNotifiers(Recorder("first", log), Recorder("second", log))
    )
    await add_rules(storage, *DEFAULT_RULES)
    camera = await add_camera(container)
    _, opened = await record(container, camera, capture(), at=clock.now())
    assert opened is not None
    assert log[:2] == [
        ("first", "incident.created", opened.id),
        ("second", "incident.created", opened.id),
    ]
    assert [name for name, _, _ in log] == ["first", "second"] * (len(log) // 2)

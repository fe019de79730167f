"""Alert rules, alert events, webhook subscriptions and the alert engine behave the same on
every adapter."""

from datetime import UTC, datetime, timedelta

import msgspec

from securityvision.application.alert_ports import AlertEventFilter, AlertRuleFilter
from securityvision.application.alerts import AlertEngine, AlertIncidents, AlertOutcomes
from securityvision.application.incident_pipeline import IncidentNotifiers, LiveIncidentNotices
from securityvision.application.ports import Storage
from securityvision.application.webhooks import WebhookEvents, WebhookIncidentNotices
from securityvision.domain.alerts import (
    AlertEventType,
    AlertRuleType,
    NewAlertEvent,
    NewAlertRule,
)
from securityvision.domain.devices import NewDevice
from securityvision.domain.incidents import Severity
from securityvision.domain.people import NewPerson, NewPersonGroup
from securityvision.domain.presence import PresenceSession, TagPosition
from securityvision.domain.rtls import NewTag
from securityvision.domain.webhooks import (
    WEBHOOK_CHANNEL,
    NewWebhookSubscription,
    WebhookEventType,
)
from tests.support.clock import FakeClock

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Site(msgspec.Struct, kw_only=True):
    group: int
    person: int
    tag: int
    forbidden: int
    lobby: int


async def site(storage: Storage) -> Site:
    async with storage.unit_of_work() as uow:
        group = await uow.person_groups.add(NewPersonGroup(name="Visitantes"))
        person = await uow.people.add(NewPerson(full_name="Fulano de Tal"))
        await uow.person_groups.set_members(group.id, [person.id])
        tag = await uow.tags.add(NewTag(mac_address="C0:FF:EE:00:00:01", person_id=person.id))
        forbidden = await uow.devices.add(NewDevice(name="Data center", code="GW_A"))
        lobby = await uow.devices.add(NewDevice(name="Lobby", code="GW_B"))
        await uow.commit()
    return Site(
        group=group.id, person=person.id, tag=tag.id, forbidden=forbidden.id, lobby=lobby.id
    )


async def test_rules_are_stored_filtered_before_paging_and_listed_when_active(
    storage: Storage,
) -> None:
    where = await site(storage)
    async with storage.unit_of_work() as uow:
        first = await uow.alert_rules.add(
            NewAlertRule(
                name="a",
                rule_type=AlertRuleType.FORBIDDEN_SECTOR,
                group_id=where.group,
                device_id=where.forbidden,
                create_incident=True,
                incident_severity=Severity.HIGH,
            )
        )
        second = await uow.alert_rules.add(
            NewAlertRule(name="b", rule_type=AlertRuleType.DWELL_TIME, max_dwell_seconds=60)
        )
        await uow.alert_rules.update(msgspec.structs.replace(second, is_active=False))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.alert_rules.get(first.id) == first
        assert [r.id for r in await uow.alert_rules.active()] == [first.id]
        dwell = await uow.alert_rules.list(AlertRuleFilter(rule_type=AlertRuleType.DWELL_TIME))
        assert [r.id for r in dwell] == [second.id]
        paged = await uow.alert_rules.list(AlertRuleFilter(is_active=False), limit=1)
        assert [r.id for r in paged] == [second.id]
        by_device = await uow.alert_rules.list(AlertRuleFilter(device_id=where.forbidden))
        assert [r.incident_severity for r in by_device] == [Severity.HIGH]
        assert await uow.alert_rules.delete(first.id)
        assert not await uow.alert_rules.delete(first.id)


async def test_events_are_listed_newest_first_and_found_open_stale_or_offline(
    storage: Storage,
) -> None:
    where = await site(storage)
    async with storage.unit_of_work() as uow:
        rule = await uow.alert_rules.add(
            NewAlertRule(name="a", rule_type=AlertRuleType.FORBIDDEN_SECTOR)
        )
        added = await uow.alert_events.add_many(
            [
                NewAlertEvent(
                    event_type=AlertEventType.FORBIDDEN_SECTOR,
                    rule_id=rule.id,
                    tag_id=where.tag,
                    person_id=where.person,
                    device_id=where.forbidden,
                    started_at=T0,
                    last_seen_at=T0 + timedelta(seconds=5),
                    message="m",
                    payload={"duration_seconds": 5, "nested": {"a": [1, 2]}},
                ),
                NewAlertEvent(
                    event_type=AlertEventType.GATEWAY_OFFLINE,
                    device_id=where.lobby,
                    started_at=T0 + timedelta(minutes=1),
                    last_seen_at=T0 + timedelta(minutes=1),
                ),
            ]
        )
        await uow.commit()
    presence, offline = added
    assert presence.payload == {"duration_seconds": 5, "nested": {"a": [1, 2]}}
    async with storage.unit_of_work() as uow:
        assert [e.id for e in await uow.alert_events.list(AlertEventFilter())] == [
            offline.id,
            presence.id,
        ]
        by_tag = await uow.alert_events.list(AlertEventFilter(tag_id=where.tag))
        assert [e.id for e in by_tag] == [presence.id]
        assert [e.id for e in await uow.alert_events.open_presence([where.tag])] == [presence.id]
        assert [e.id for e in await uow.alert_events.open_for_rule(rule.id)] == [presence.id]
        stale = await uow.alert_events.stale_presence(T0 + timedelta(seconds=6), limit=10)
        assert [e.id for e in stale] == [presence.id]
        assert await uow.alert_events.stale_presence(T0, limit=10) == []
        assert list(await uow.alert_events.open_offline([where.lobby, where.forbidden])) == [
            where.lobby
        ]
        closed = msgspec.structs.replace(
            presence,
            is_open=False,
            ended_at=T0 + timedelta(seconds=5),
            payload={"close_reason": "left"},
        )
        await uow.alert_events.update_many([closed])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.alert_events.get(presence.id)
        assert found is not None
        assert (found.is_open, found.ended_at, found.payload) == (
            False,
            T0 + timedelta(seconds=5),
            {"close_reason": "left"},
        )
        assert await uow.alert_events.open_presence([where.tag]) == []
        assert await uow.alert_events.count() == 2


async def test_a_rule_goes_with_the_gateway_or_group_it_watches_and_its_events_stay(
    storage: Storage,
) -> None:
    """Left behind with its scope cleared, a rule would silently watch every gateway or
    everyone (migration 0014's cascading keys)."""
    where = await site(storage)
    async with storage.unit_of_work() as uow:
        on_gateway, on_group, on_both, on_lobby, everywhere = [
            await uow.alert_rules.add(
                NewAlertRule(
                    name=name,
                    rule_type=AlertRuleType.FORBIDDEN_SECTOR,
                    device_id=device_id,
                    group_id=group_id,
                )
            )
            for name, device_id, group_id in (
                ("gateway", where.forbidden, None),
                ("group", None, where.group),
                ("both", where.forbidden, where.group),
                ("lobby", where.lobby, None),
                ("everywhere", None, None),
            )
        ]
        seen, elsewhere = await uow.alert_events.add_many(
            [
                NewAlertEvent(
                    event_type=AlertEventType.FORBIDDEN_SECTOR,
                    rule_id=rule.id,
                    tag_id=where.tag,
                    person_id=where.person,
                    device_id=device_id,
                    group_id=where.group,
                    started_at=T0,
                    last_seen_at=T0,
                )
                for rule, device_id in ((on_both, where.forbidden), (on_lobby, where.lobby))
            ]
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.devices.delete(where.forbidden)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        left = [r.id for r in await uow.alert_rules.list(AlertRuleFilter())]
        assert left == [on_group.id, on_lobby.id, everywhere.id]
        assert await uow.alert_rules.get(on_gateway.id) is None
        event = await uow.alert_events.get(seen.id)
        assert event is not None
        assert (event.rule_id, event.device_id, event.group_id) == (None, None, where.group)
        assert await uow.person_groups.delete(where.group)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        left = [r.id for r in await uow.alert_rules.list(AlertRuleFilter())]
        assert left == [on_lobby.id, everywhere.id]
        assert [r.id for r in await uow.alert_rules.active()] == left
        event = await uow.alert_events.get(seen.id)
        other = await uow.alert_events.get(elsewhere.id)
        assert event is not None
        assert other is not None
        assert (event.rule_id, event.device_id, event.group_id) == (None, None, None)
        assert (other.rule_id, other.device_id, other.group_id) == (
            on_lobby.id,
            where.lobby,
            None,
        )
        assert await uow.alert_events.count() == 2


async def test_the_engine_reads_subjects_places_and_stays(storage: Storage) -> None:
    where = await site(storage)
    async with storage.unit_of_work() as uow:
        await uow.presence.replace_sessions(
            [],
            [
                PresenceSession(
                    tag_id=where.tag,
                    device_id=where.lobby,
                    day=T0.date(),
                    started_at=start,
                    ended_at=start + timedelta(seconds=10),
                    samples_count=2,
                    rssi_sum=-120,
                    rssi_max=-60,
                )
                for start in (T0, T0 + timedelta(minutes=5))
            ],
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        subjects = await uow.alert_events.subjects([where.tag, 999])
        assert list(subjects) == [where.tag]
        subject = subjects[where.tag]
        assert (subject.person_id, subject.person_name, subject.group_ids) == (
            where.person,
            "Fulano de Tal",
            frozenset({where.group}),
        )
        places = await uow.alert_events.places([where.lobby])
        assert places[where.lobby].device_name == "Lobby"
        starts = await uow.alert_events.stay_starts([(where.tag, where.lobby)])
        assert starts == {(where.tag, where.lobby): T0 + timedelta(minutes=5)}


async def test_webhook_subscriptions_keep_their_secret_apart(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        signed = await uow.webhooks.add(
            NewWebhookSubscription(name="soc", url="https://soc.example.com/h"), b"encrypted"
        )
        filtered = await uow.webhooks.add(
            NewWebhookSubscription(
                name="dwell",
                url="https://soc.example.com/d",
                event_type_filter=WebhookEventType.DWELL_TIME,
            ),
            None,
        )
        await uow.commit()
    assert (signed.has_secret, filtered.has_secret) == (True, False)
    async with storage.unit_of_work() as uow:
        assert await uow.webhooks.secret(signed.id) == b"encrypted"
        changed = await uow.webhooks.update(msgspec.structs.replace(signed, name="SOC"))
        assert (changed.name, changed.has_secret) == ("SOC", True)
        wanting = await uow.webhooks.wanting({WebhookEventType.FORBIDDEN_SECTOR})
        assert [s.id for s in wanting] == [signed.id]
        both = await uow.webhooks.wanting({WebhookEventType.DWELL_TIME})
        assert [s.id for s in both] == [signed.id, filtered.id]
        await uow.webhooks.set_secret(signed.id, None)
        assert await uow.webhooks.secret(signed.id) is None
        assert (await uow.webhooks.get(signed.id) or signed).has_secret is False
        await uow.webhooks.update(msgspec.structs.replace(filtered, is_active=False))
        assert await uow.webhooks.wanting({WebhookEventType.DWELL_TIME}) == [
            await uow.webhooks.get(signed.id)
        ]
        assert await uow.webhooks.delete(filtered.id)
        assert [s.id for s in await uow.webhooks.list()] == [signed.id]
        await uow.commit()


async def test_the_engine_opens_follows_and_closes_a_forbidden_sector_alert(
    storage: Storage,
) -> None:
    where = await site(storage)
    clock = FakeClock(T0)
    webhooks = WebhookEvents(clock)
    engine = AlertEngine(
        clock,
        AlertOutcomes(
            AlertIncidents(
                clock, IncidentNotifiers(LiveIncidentNotices(), WebhookIncidentNotices(webhooks))
            ),
            webhooks,
        ),
        stale_after=timedelta(seconds=30),
    )
    async with storage.unit_of_work() as uow:
        rule = await uow.alert_rules.add(
            NewAlertRule(
                name="Visitantes fora",
                rule_type=AlertRuleType.FORBIDDEN_SECTOR,
                group_id=where.group,
                device_id=where.forbidden,
                create_incident=True,
                incident_auto_close_on_end=True,
            )
        )
        subscription = await uow.webhooks.add(
            NewWebhookSubscription(name="soc", url="https://soc.example.com/h"), None
        )
        await uow.commit()

    async def heard_at(device_id: int, at: datetime, since: datetime) -> None:
        clock.current = at
        async with storage.unit_of_work() as uow:
            await uow.presence.save_positions(
                [
                    TagPosition(
                        tag_id=where.tag,
                        device_id=device_id,
                        since=since,
                        last_seen_at=at,
                        confidence=1.0,
                    )
                ]
            )
            await engine.follow(uow, tag_ids={where.tag})
            await uow.commit()

    await heard_at(where.forbidden, T0, T0)
    await heard_at(where.forbidden, T0 + timedelta(seconds=5), T0)
    async with storage.unit_of_work() as uow:
        (event,) = await uow.alert_events.list(AlertEventFilter())
        assert event.is_open
        assert event.rule_id == rule.id
        assert event.last_seen_at == T0 + timedelta(seconds=5)
        assert event.payload["duration_seconds"] == 5
        assert event.message == "Entrada em setor proibido: Fulano de Tal no gateway 'Data center'."
        assert event.incident_id is not None
        incident = await uow.incidents.get(event.incident_id)
        assert incident is not None
        assert incident.kind == "ALERT_FORBIDDEN_SECTOR"
        assert incident.device_id == where.forbidden

    await heard_at(where.lobby, T0 + timedelta(seconds=8), T0 + timedelta(seconds=8))
    async with storage.unit_of_work() as uow:
        (event,) = await uow.alert_events.list(AlertEventFilter())
        assert not event.is_open
        assert event.ended_at == T0 + timedelta(seconds=8)
        assert event.payload["close_reason"] == "left"
        assert event.incident_id is not None
        resolved = await uow.incidents.get(event.incident_id)
        assert resolved is not None
        assert str(resolved.status) == "RESOLVED"
        outbox = await uow.outbox.due(WEBHOOK_CHANNEL, limit=100)
    sent = [msgspec.json.decode(m.payload)["event_type"] for m in outbox]
    assert {m.destination for m in outbox} == {str(subscription.id)}
    assert sent.count("FORBIDDEN_SECTOR") == 2  # opened, closed
    assert "INCIDENT_CREATED" in sent
    assert "INCIDENT_STATUS_CHANGED" in sent

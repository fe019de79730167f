"""The alert decisions and the webhook envelope, as pure functions."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.adapters.webhooks import retry_after
from securityvision.application.incident_pipeline import IncidentNotice, NoticeKind
from securityvision.application.webhooks import event_type_catalog, incident_event_type
from securityvision.domain.alerts import (
    AlertEvent,
    AlertEventType,
    AlertRule,
    AlertRuleType,
    GatewayTransition,
    NewAlertEvent,
    NewAlertRule,
    Place,
    Presence,
    PresenceChanges,
    Subject,
    checked_rule,
    close_stale,
    evaluate_presence,
    gateway_changes,
)
from securityvision.domain.errors import InvalidInput
from securityvision.domain.incidents import Incident, IncidentStatus, Severity
from securityvision.domain.webhooks import (
    NewWebhookSubscription,
    WebhookEventType,
    checked_subscription,
    envelope,
    signature,
    signature_matches,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
STALE = timedelta(seconds=30)
SUBJECT = Subject(
    tag_id=7, tag_mac="C0:FF:EE:00:00:01", person_id=42, person_name="Ana", group_ids=frozenset({5})
)
PLACES = {1: Place(device_id=1, device_name="A"), 2: Place(device_id=2, device_name="B")}


def rule(rule_type: AlertRuleType = AlertRuleType.FORBIDDEN_SECTOR, **extra: object) -> AlertRule:
    base = AlertRule(
        id=10, name="r", rule_type=rule_type, group_id=5, device_id=1, created_at=T0, updated_at=T0
    )
    return msgspec.structs.replace(base, **extra)


def at(device_id: int, since: datetime, seen: datetime) -> Presence:
    return Presence(tag_id=7, device_id=device_id, since=since, last_seen_at=seen)


def stored(new: NewAlertEvent, event_id: int = 1) -> AlertEvent:
    return AlertEvent(id=event_id, created_at=T0, updated_at=T0, **msgspec.structs.asdict(new))


def run(
    rules: list[AlertRule], presence: Presence | None, open_events: list[AlertEvent], now: datetime
) -> PresenceChanges:
    return evaluate_presence(
        rules=rules,
        presences=[presence] if presence else [],
        subjects={7: SUBJECT},
        places=PLACES,
        open_events=open_events,
        now=now,
        stale_after=STALE,
    )


def test_a_person_of_the_group_at_the_gateway_opens_one_alert_that_follows_and_closes() -> None:
    opened = run([rule()], at(1, T0, T0), [], T0)
    (new,) = opened.opened
    assert (new.rule_id, new.tag_id, new.device_id, new.started_at) == (10, 7, 1, T0)
    event = stored(new)
    later = T0 + timedelta(seconds=20)
    followed = run([rule()], at(1, T0, later), [event], later)
    assert followed.opened == []
    (updated,) = followed.updated
    assert updated.last_seen_at == later
    assert updated.payload["duration_seconds"] == 20
    moved = T0 + timedelta(seconds=25)
    left = run([rule()], at(2, moved, moved), [updated], moved)
    (closed,) = left.closed
    assert (closed.is_open, closed.ended_at, closed.payload["close_reason"]) == (
        False,
        moved,
        "left",
    )


def test_no_alert_for_other_groups_other_gateways_or_old_news() -> None:
    assert run([rule(group_id=6)], at(1, T0, T0), [], T0).opened == []
    assert run([rule()], at(2, T0, T0), [], T0).opened == []
    late = T0 + timedelta(minutes=5)
    assert run([rule()], at(1, T0, T0), [], late).opened == []
    assert run([rule(is_active=False)], at(1, T0, T0), [], T0).opened == []
    anywhere = rule(device_id=None, group_id=None)
    assert len(run([anywhere], at(2, T0, T0), [], T0).opened) == 1


def test_dwell_opens_once_the_stay_reaches_the_limit() -> None:
    dwell = rule(AlertRuleType.DWELL_TIME, max_dwell_seconds=60)
    assert run([dwell], at(1, T0, T0 + timedelta(seconds=59)), [], T0).opened == []
    now = T0 + timedelta(seconds=61)
    (new,) = run([dwell], at(1, T0, now), [], now).opened
    assert new.event_type is AlertEventType.DWELL_TIME
    assert new.payload["max_dwell_seconds"] == 60
    assert new.message == "Ana está há 61s no dispositivo A (limite 60s)."


def test_an_alert_whose_rule_no_longer_applies_closes() -> None:
    event = stored(run([rule()], at(1, T0, T0), [], T0).opened[0])
    now = T0 + timedelta(seconds=5)
    changes = run([rule(group_id=6)], at(1, T0, now), [event], now)
    assert [c.payload["close_reason"] for c in changes.closed] == ["rule_changed"]


@given(st.integers(min_value=0, max_value=3600))
def test_stale_alerts_close_when_last_seen_ended_them(silence: int) -> None:
    event = stored(run([rule()], at(1, T0, T0), [], T0).opened[0])
    now = T0 + timedelta(seconds=silence)
    closed = close_stale([event], now, STALE)
    if silence <= STALE.total_seconds():
        assert closed == []
    else:
        assert [(c.ended_at, c.payload["close_reason"]) for c in closed] == [(T0, "stale")]


def test_a_gateway_offline_then_online_is_one_closed_offline_and_one_online_record() -> None:
    places = {3: Place(device_id=3, device_name="C", last_seen_at=T0 - timedelta(seconds=90))}
    down = gateway_changes([GatewayTransition(device_id=3, online=False, at=T0)], {}, places)
    (offline,) = down.opened
    assert offline.payload["offline_seconds"] == 90
    assert offline.message == "Gateway 'C' ficou OFFLINE."
    back = T0 + timedelta(minutes=2)
    up = gateway_changes(
        [GatewayTransition(device_id=3, online=True, at=back)], {3: stored(offline)}, places
    )
    assert [c.payload["close_reason"] for c in up.closed] == ["online"]
    (online,) = up.opened
    assert (online.event_type, online.is_open, online.payload["offline_seconds"]) == (
        AlertEventType.GATEWAY_ONLINE,
        False,
        120,
    )
    first_sight = gateway_changes([GatewayTransition(device_id=3, online=True, at=T0)], {}, places)
    assert first_sight.opened == []
    assert first_sight.closed == []


def test_rules_are_checked_and_dwell_gets_its_default_limit() -> None:
    dwell = checked_rule(NewAlertRule(name=" r ", rule_type=AlertRuleType.DWELL_TIME))
    assert (dwell.name, dwell.max_dwell_seconds) == ("r", 300)
    with pytest.raises(InvalidInput):
        checked_rule(NewAlertRule(name=" ", rule_type=AlertRuleType.DWELL_TIME))
    with pytest.raises(InvalidInput):
        checked_rule(
            NewAlertRule(name="r", rule_type=AlertRuleType.DWELL_TIME, incident_sla_minutes=0)
        )


@given(st.binary(max_size=200), st.text(min_size=1, max_size=40))
def test_a_signature_verifies_its_body_and_nothing_else(body: bytes, secret: str) -> None:
    header = signature(secret, body)
    assert header.startswith("sha256=")
    assert signature_matches(secret, body, header)
    assert not signature_matches(secret, body + b"x", header)


def test_subscriptions_take_absolute_http_urls_only() -> None:
    ok = checked_subscription(NewWebhookSubscription(name="x", url=" http://10.0.0.5:8080/h "))
    assert ok.url == "http://10.0.0.5:8080/h"
    for bad in ("file:///etc/passwd", "ftp://x/y", "http://", "/relative", "http://a b/"):
        with pytest.raises(InvalidInput):
            checked_subscription(NewWebhookSubscription(name="x", url=bad))


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("7", T0) == timedelta(seconds=7)
    assert retry_after("Sun, 29 Nov 2026 12:00:30 GMT", T0) == timedelta(seconds=30)
    assert retry_after("soon", T0) is None
    assert retry_after(None, T0) is None
    assert retry_after("999999", T0) == timedelta(hours=1)


def test_incident_changes_are_named_as_subscribers_filter_them() -> None:
    incident = Incident(
        id=1,
        device_id=1,
        title="t",
        kind="k",
        status=IncidentStatus.OPEN,
        severity=Severity.LOW,
        created_at=T0,
        updated_at=T0,
    )

    def kind(notice_kind: NoticeKind, previous: IncidentStatus | None) -> WebhookEventType:
        return incident_event_type(
            IncidentNotice(kind=notice_kind, incident=incident, previous_status=previous)
        )

    assert kind(NoticeKind.CREATED, None) is WebhookEventType.INCIDENT_CREATED
    assert kind(NoticeKind.UPDATED, IncidentStatus.RESOLVED) is WebhookEventType.INCIDENT_REOPENED
    assert kind(NoticeKind.UPDATED, IncidentStatus.OPEN) is WebhookEventType.INCIDENT_UPDATED
    progress = msgspec.structs.replace(incident, status=IncidentStatus.IN_PROGRESS)
    assert (
        incident_event_type(
            IncidentNotice(
                kind=NoticeKind.UPDATED, incident=progress, previous_status=IncidentStatus.OPEN
            )
        )
        is WebhookEventType.INCIDENT_STATUS_CHANGED
    )


def test_every_event_type_has_a_sample_in_the_real_envelope() -> None:
    catalog = event_type_catalog()
    assert [c.event_type for c in catalog] == list(WebhookEventType)
    for entry in catalog:
        body = envelope(
            entry.event_type,
            datetime.fromisoformat(entry.sample_payload["timestamp"]),
            entry.sample_payload["payload"],
        )
        assert msgspec.json.decode(body) == entry.sample_payload

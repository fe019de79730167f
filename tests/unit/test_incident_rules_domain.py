"""Incident rules, templates, kinds, event payloads and camera secrets: pure domain code and
the cipher adapter."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.adapters.secrets import FernetSecretCipher
from securityvision.config import ConfigError, load_settings
from securityvision.domain.cameras import event_facts, is_face_recognition, without_secrets
from securityvision.domain.errors import InvalidInput, StorageError
from securityvision.domain.incident_rules import (
    IncidentRule,
    NewIncidentRule,
    check_rule,
    kind_for,
    pick_rule,
    render_template,
)
from securityvision.domain.incidents import Severity

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def rule(rule_id: int, **fields: object) -> IncidentRule:
    base: dict[str, object] = {"name": f"r{rule_id}", "analytic_type": "VMD"}
    return IncidentRule(id=rule_id, created_at=T0, updated_at=T0, **(base | fields))


def pick(rules: list[IncidentRule], tenant: str | None = None) -> int | None:
    found = pick_rule(rules, analytic_type="VMD", device_id=7, group_ids=[3], tenant=tenant)
    return None if found is None else found.id


def test_the_most_specific_rule_wins_then_tenant_then_severity_then_age() -> None:
    everything = [
        rule(1, severity=Severity.CRITICAL),
        rule(2, camera_group_id=3),
        rule(3, device_id=7, severity=Severity.LOW),
    ]
    assert pick(everything) == 3
    assert pick(everything[:2]) == 2
    assert pick([rule(1), rule(2, tenant="acme")], tenant="ACME") == 2
    assert pick([rule(1), rule(2, severity=Severity.HIGH), rule(3, severity=Severity.HIGH)]) == 2


def test_rules_of_other_scopes_types_tenants_or_disabled_do_not_match() -> None:
    assert pick([rule(1, device_id=8), rule(2, camera_group_id=4)]) is None
    assert pick([rule(1, analytic_type="vmd"), rule(2, enabled=False)]) is None
    assert pick([rule(1, tenant="other")], tenant="acme") is None
    # With no tenant in the payload, a tenant's rule still matches (as the original).
    assert pick([rule(1, tenant="other")]) == 1


def test_a_rule_has_one_scope_at_most() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rule(NewIncidentRule(name="x", analytic_type="VMD", device_id=1, camera_group_id=2))
    assert caught.value.code == "rule_scope_ambiguous"


@pytest.mark.parametrize(
    ("analytic_type", "kind"),
    [
        ("faceCapture", "CAMERA_FACE"),
        ("faceRecognized", "CAMERA_FACE"),
        ("cambus_status", "CAMERA_OFFLINE"),
        ("IntrusionDetection", "CAMERA_INTRUSION"),
        ("AlarmLocal", "CAMERA_INTRUSION"),
        ("VideoTamper", "CAMERA_TAMPER"),
        ("CrossLineDetection", "CAMERA_EVENT"),
    ],
)
def test_the_kind_follows_the_analytic_type_as_the_original(analytic_type: str, kind: str) -> None:
    assert kind_for(analytic_type) == kind


def test_templates_format_values_and_keep_what_they_cannot_fill() -> None:
    values = {"camera_name": "Portaria", "confidence": 0.5}
    assert render_template("{camera_name}!", values) == "Portaria!"
    assert render_template("{confidence:.0%} {confidence:>x}", values) == "50% 0.5"
    assert render_template("{who} {camera_name[0]} {camera_name!r}", values) == (
        "{who} {camera_name[0]} 'Portaria'"
    )
    assert render_template("{{literal}} {", values) == "{{literal}} {"


@given(st.text(max_size=80))
def test_rendering_any_template_never_raises(template: str) -> None:
    assert isinstance(render_template(template, {"camera_name": "x", "device_id": 1}), str)


def test_secrets_are_removed_from_payloads_at_any_depth() -> None:
    payload = {
        "Password": "a",
        "api_key": "b",
        "Meta": {"passwd": "c", "keep": [{"SECRET": "d", "ok": 1}]},
        "name": "cam",
    }
    assert without_secrets(payload) == {"Meta": {"keep": [{"ok": 1}]}, "name": "cam"}


def test_event_facts_are_read_in_any_spelling_and_bad_values_are_unknown() -> None:
    facts = event_facts(
        {
            "eventId": "e1",
            "TENANT": "acme",
            "meta": {"ff_card_id": 123, "FF_PERSON_NAME": " Ana ", "ff_confidence": 0.9},
        }
    )
    assert (facts.event_id, facts.tenant, facts.person_name, facts.confidence) == (
        "e1",
        "acme",
        "Ana",
        0.9,
    )
    assert facts.person_key == "card:123"
    odd = event_facts({"Meta": {"ff_confidence": 93, "ff_person_name": ["x"]}, "Tenant": {}})
    assert (odd.confidence, odd.person_name, odd.tenant, odd.person_key) == (
        None,
        None,
        None,
        "unknown",
    )
    assert event_facts({"Meta": {"person_name": "Bia"}}).person_key == "name:bia"


def test_face_recognition_is_told_apart_as_the_front_end_does() -> None:
    assert all(
        is_face_recognition(name)
        for name in ("faceRecognized", "face_recognized", "Face Recognized")
    )
    assert not is_face_recognition("faceCapture")


def test_a_password_round_trips_and_a_tampered_or_foreign_one_is_refused() -> None:
    cipher = FernetSecretCipher("k" * 40)
    token = cipher.encrypt("s3cret!")
    assert b"s3cret" not in token
    assert cipher.decrypt(token) == "s3cret!"
    assert cipher.encrypt("s3cret!") != token  # a fresh IV every time
    tampered = token[:-2] + (b"A" if token[-2:-1] != b"A" else b"B") + token[-1:]
    for bad, key in [(tampered, "k" * 40), (token, "j" * 40)]:
        with pytest.raises(StorageError):
            FernetSecretCipher(key).decrypt(bad)
    assert "k" * 40 not in repr(cipher)
    with pytest.raises(ValueError, match="at least 32"):
        FernetSecretCipher("short")


def test_a_short_device_secrets_key_stops_the_start_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DEVICE_SECRETS_KEY": "short-secret"}, env_file=None)
    assert str(caught.value) == "DEVICE_SECRETS_KEY: expected at least 32 characters"
    settings = load_settings({"DEVICE_SECRETS_KEY": "k" * 32}, env_file=None)
    assert settings.device_secrets_key is not None
    assert "k" * 32 not in repr(settings.redacted())

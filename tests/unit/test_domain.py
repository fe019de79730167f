"""Domain rules: MACs, roles, incidents, presence sessions."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securityvision.domain.errors import InvalidInput, PermissionDenied
from securityvision.domain.identity import (
    Role,
    User,
    check_may_grant,
    check_may_manage,
    normalize_email,
)
from securityvision.domain.incidents import (
    Incident,
    IncidentStatus,
    Severity,
    change_status,
    sla_minutes_for,
)
from securityvision.domain.rtls import check_rssi, is_mac, normalize_mac

T0 = datetime(2026, 1, 1, tzinfo=UTC)
hex_octets = st.lists(st.integers(0, 255), min_size=6, max_size=6)


def user(role: Role, *, is_superuser: bool = False, user_id: int = 1) -> User:
    return User(
        id=user_id,
        email=f"u{user_id}@example.com",
        full_name=None,
        hashed_password="x",
        role=role,
        is_active=True,
        is_superuser=is_superuser,
        chatwoot_agent_id=None,
        created_at=T0,
        updated_at=T0,
    )


@given(hex_octets, st.sampled_from([":", "-", "", "."]), st.booleans())
def test_every_spelling_of_a_mac_normalizes_to_the_colon_form(
    octets: list[int], sep: str, lower: bool
) -> None:
    canonical = ":".join(f"{o:02X}" for o in octets)
    text = sep.join(f"{o:02x}" if lower else f"{o:02X}" for o in octets)
    assert normalize_mac(text) == canonical
    assert normalize_mac(canonical) == canonical


@given(st.text(max_size=40))
def test_normalizing_anything_either_fails_cleanly_or_is_idempotent(text: str) -> None:
    if not is_mac(text):
        with pytest.raises(InvalidInput, match="not a MAC address"):
            normalize_mac(text)
        return
    mac = normalize_mac(text)
    assert normalize_mac(mac) == mac


@pytest.mark.parametrize("value", ["gateway-01", "AA:BB:CC:DD:EE", "GG:BB:CC:DD:EE:FF", ""])
def test_a_non_mac_is_refused_not_mangled(value: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_mac(value)


@pytest.mark.parametrize("rssi", [-128, 21, 1000])
def test_impossible_rssi_is_refused(rssi: int) -> None:
    with pytest.raises(InvalidInput):
        check_rssi(rssi)


def test_emails_compare_case_insensitively_and_must_look_like_emails() -> None:
    assert normalize_email("  Ana@Example.COM ") == "ana@example.com"
    with pytest.raises(InvalidInput):
        normalize_email("not-an-email")


def test_an_admin_cannot_mint_or_promote_a_superadmin() -> None:
    admin = user(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        check_may_grant(admin, Role.SUPERADMIN, False)
    with pytest.raises(PermissionDenied):
        check_may_grant(admin, Role.OPERATOR, True)
    check_may_grant(admin, Role.ADMIN, False)
    check_may_grant(user(Role.SUPERADMIN), Role.SUPERADMIN, True)
    check_may_grant(None, Role.SUPERADMIN, True)


def test_an_admin_cannot_manage_a_superadmin_and_operators_manage_nobody() -> None:
    with pytest.raises(PermissionDenied):
        check_may_manage(user(Role.ADMIN), user(Role.OPERATOR, is_superuser=True, user_id=2))
    with pytest.raises(PermissionDenied):
        check_may_manage(user(Role.OPERATOR), user(Role.VIEWER, user_id=2))
    check_may_manage(user(Role.ADMIN), user(Role.OPERATOR, user_id=2))


def test_is_superuser_counts_as_superadmin_whatever_the_role() -> None:
    legacy = user(Role.OPERATOR, is_superuser=True)
    assert legacy.effective_role is Role.SUPERADMIN
    assert legacy.is_admin
    assert not user(Role.VIEWER).has_at_least(Role.OPERATOR)


def incident(status: IncidentStatus = IncidentStatus.OPEN) -> Incident:
    return Incident(
        id=1,
        device_id=1,
        title="t",
        kind="CAMERA_FACE",
        status=status,
        severity=Severity.MEDIUM,
        created_at=T0,
        updated_at=T0,
    )


@given(st.lists(st.sampled_from(list(IncidentStatus)), min_size=1, max_size=12))
def test_closed_at_is_set_exactly_while_an_incident_is_terminal(
    path: list[IncidentStatus],
) -> None:
    current = incident()
    for i, status in enumerate(path):
        # The same status, or one closed status for another (reopen first), is refused.
        if status is current.status or not (current.status.is_active or status.is_active):
            with pytest.raises(InvalidInput):
                change_status(current, status, T0)
            continue
        change = change_status(current, status, T0 + timedelta(minutes=i))
        assert change.previous is current.status
        assert change.reopened == (not current.status.is_active and status.is_active)
        current = change.incident
        assert (current.closed_at is not None) == (not current.status.is_active)


def test_sla_defaults_by_severity_unless_the_group_sets_one() -> None:
    assert sla_minutes_for(Severity.CRITICAL) == 15
    assert sla_minutes_for(Severity.LOW) == 1440
    assert sla_minutes_for(Severity.LOW, group_default=30) == 30

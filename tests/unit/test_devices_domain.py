"""Device rules: stored MAC spelling and online state."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from securityvision.domain.devices import Device, DeviceType, device_mac
from securityvision.domain.rtls import is_mac, normalize_mac

T0 = datetime(2026, 1, 1, tzinfo=UTC)
THRESHOLD = timedelta(seconds=60)


def device(last_seen_at: datetime | None, reported_online: bool | None = None) -> Device:
    return Device(
        id=1,
        name="GW",
        type=DeviceType.BLE_GATEWAY,
        last_seen_at=last_seen_at,
        reported_online=reported_online,
        created_at=T0,
        updated_at=T0,
    )


@given(st.lists(st.integers(0, 255), min_size=6, max_size=6), st.sampled_from([":", "-", ""]))
def test_a_device_mac_in_any_spelling_is_stored_as_the_tags_are(
    octets: list[int], separator: str
) -> None:
    spelled = separator.join(f"{o:02x}" for o in octets)
    assert device_mac(f" {spelled} ") == normalize_mac(spelled)


@given(st.text(max_size=30))
def test_anything_else_is_kept_as_sent_or_is_no_address_at_all(text: str) -> None:
    stored = device_mac(text)
    if not text.strip():
        assert stored is None
    elif is_mac(text.strip()):
        assert stored == normalize_mac(text.strip())
    else:
        assert stored == text.strip()


def test_online_means_heard_within_the_threshold_and_not_reported_offline() -> None:
    now = T0 + timedelta(hours=1)
    assert device(now - THRESHOLD).is_online(now, THRESHOLD)
    assert not device(now - THRESHOLD - timedelta(microseconds=1)).is_online(now, THRESHOLD)
    assert not device(None).is_online(now, THRESHOLD)
    assert not device(now, reported_online=False).is_online(now, THRESHOLD)
    assert device(now, reported_online=True).is_online(now, THRESHOLD)

"""Gateway topics and payloads: every shared fixture, every topic form, every rejection, and
no input at all that makes the decoder raise or say nothing.

The invariant the property tests hold the decoder to (see :func:`assert_accounted_for`):
every message is accounted for — it yields at least one observation, or at least one
rejection, or an ``online`` verdict — and everything it yields is well formed: canonical tag
MACs, RSSI within -127..20, times in UTC from 2000 on, rejection reasons from the decoder's
own list with details of at most 120 characters, and never the decoder's internal-error
safety net.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securityvision.adapters.mqtt.codecs import (
    INTERNAL_ERROR,
    MAX_PAYLOAD_BYTES,
    decode_gateway_message,
)
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.domain.rtls import (
    RSSI_MAX,
    RSSI_MIN,
    GatewayMessage,
    GatewayTopic,
    Observation,
    Rejection,
    normalize_mac,
)

PREFIX = "rtls/gateways"
DECODER_REASONS = frozenset(
    {
        "undecodable",
        "wrong_type",
        "invalid_mac",
        "invalid_rssi",
        "invalid_timestamp",
        "too_large",
        "no_gateway",
    }
)
KNOWN_FIXTURES = frozenset(
    {
        "aprilbrother_v4",
        "espresense",
        "flat_detection",
        "heartbeat",
        "ingics",
        "minew_array",
        "readings",
        "status",
    }
)
# The fixtures that come without an ``*.expect.json``: what they must decode to.
EXPLICIT_EXPECTATIONS: dict[str, dict[str, Any]] = {
    "espresense": {
        "gateway_mac": None,
        "gateway_key": "ESP32-LOBBY",
        "readings": [{"tag_mac": "0B:E3:83:05:0D:E8", "rssi": -66, "ts": None}],
    },
    "flat_detection": {
        "gateway_mac": "AA:BB:CC:DD:EE:01",
        "readings": [
            {"tag_mac": "11:22:33:44:55:66", "rssi": -68, "ts": "2026-11-29T10:00:05.25+00:00"}
        ],
    },
    "heartbeat": {"gateway_mac": "AA:BB:CC:DD:EE:01", "readings": [], "online": True},
    "status": {"gateway_mac": "AC:23:3F:C0:7D:A5", "readings": [], "online": True},
}
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
T0_EPOCH = 1795946400


# --- the shared fixtures --------------------------------------------------------------------


def gateway_fixtures_dir() -> Path:
    """``../shared/fixtures/gateways`` beside the clone, else under SECURITYVISION_SHARED_DIR.

    Missing fixtures fail the run rather than skip it: CI always has them, so their absence
    is a broken checkout, not a reason to test less.
    """
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "gateways"
    if beside.is_dir():
        return beside
    configured = os.environ.get("SECURITYVISION_SHARED_DIR")
    if configured and (Path(configured) / "fixtures" / "gateways").is_dir():
        return Path(configured) / "fixtures" / "gateways"
    pytest.fail(
        f"gateway fixtures not found at {beside} nor under $SECURITYVISION_SHARED_DIR "
        f"({configured or 'unset'})/fixtures/gateways",
        pytrace=False,
    )


def fixture_names() -> list[str]:
    return sorted(
        path.name.removesuffix(".topic") for path in gateway_fixtures_dir().glob("*.topic")
    )


def load_fixture(name: str) -> tuple[GatewayTopic, bytes]:
    directory = gateway_fixtures_dir()
    payloads = [
        path
        for path in directory.glob(f"{name}.*")
        if path.name != f"{name}.topic" and not path.name.endswith(".expect.json")
    ]
    assert len(payloads) == 1, f"fixture {name} needs exactly one payload file, has {payloads}"
    topic = parse_gateway_topic((directory / f"{name}.topic").read_text().strip(), PREFIX)
    assert isinstance(topic, GatewayTopic), topic
    return topic, payloads[0].read_bytes()


def expectation(name: str) -> dict[str, Any]:
    path = gateway_fixtures_dir() / f"{name}.expect.json"
    if path.exists():
        expected: dict[str, Any] = msgspec.json.decode(path.read_bytes())
        return expected
    assert name in EXPLICIT_EXPECTATIONS, f"fixture {name} has no expectation anywhere"
    return EXPLICIT_EXPECTATIONS[name]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gateway_fixture" in metafunc.fixturenames:
        names = fixture_names()
        metafunc.parametrize("gateway_fixture", names, ids=names)


@pytest.fixture(scope="module")
def fixture_payloads() -> list[tuple[GatewayTopic, bytes]]:
    return [load_fixture(name) for name in fixture_names()]


def as_dicts(observations: tuple[Observation, ...]) -> list[dict[str, Any]]:
    return [{"tag_mac": o.tag_mac, "rssi": o.rssi, "ts": o.ts} for o in observations]


def test_the_fixture_directory_holds_every_known_shape_with_an_expectation() -> None:
    names = set(fixture_names())
    assert names >= KNOWN_FIXTURES
    for name in names:
        assert expectation(name) is not None


def test_every_fixture_decodes_to_exactly_what_it_expects(gateway_fixture: str) -> None:
    topic, payload = load_fixture(gateway_fixture)
    expected = expectation(gateway_fixture)

    message = decode_gateway_message(topic, payload)

    assert message.rejections == ()
    assert message.gateway_mac == expected["gateway_mac"]
    assert message.gateway_key == expected.get("gateway_key", expected["gateway_mac"])
    for place in ("tenant", "building", "floor"):
        assert getattr(message.topic, place) == expected.get(place)
    assert as_dicts(message.observations) == [
        {**r, "ts": None if r["ts"] is None else datetime.fromisoformat(r["ts"])}
        for r in expected["readings"]
    ]
    assert message.online == expected.get("online")


# --- topics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (
            "rtls/gateways/AC233FC07DA5",
            GatewayTopic(gateway_id="AC233FC07DA5", gateway_mac="AC:23:3F:C0:7D:A5"),
        ),
        *[
            (
                f"rtls/gateways/AC233FC07DA5/{kind}",
                GatewayTopic(gateway_id="AC233FC07DA5", gateway_mac="AC:23:3F:C0:7D:A5", kind=kind),
            )
            for kind in ("beacon", "detection", "status", "heartbeat")
        ],
        (
            "rtls/gateways/AA:BB:CC:DD:EE:01/Heartbeat",
            GatewayTopic(
                gateway_id="AA:BB:CC:DD:EE:01", gateway_mac="AA:BB:CC:DD:EE:01", kind="heartbeat"
            ),
        ),
        (
            "rtls/gateways/aa-bb-cc-dd-ee-01/beacon",
            GatewayTopic(
                gateway_id="aa-bb-cc-dd-ee-01", gateway_mac="AA:BB:CC:DD:EE:01", kind="beacon"
            ),
        ),
        ("rtls/gateways/ESP32-LOBBY", GatewayTopic(gateway_id="ESP32-LOBBY")),
        (
            "rtls/gateways/acme/torre-a/3/gateway/AC233FC07DA5",
            GatewayTopic(
                gateway_id="AC233FC07DA5",
                gateway_mac="AC:23:3F:C0:7D:A5",
                tenant="acme",
                building="torre-a",
                floor="3",
            ),
        ),
        (
            "rtls/gateways/acme/Torre A/P1/Gateway/ESP32-LOBBY/status",
            GatewayTopic(
                gateway_id="ESP32-LOBBY",
                kind="status",
                tenant="acme",
                building="Torre A",
                floor="P1",
            ),
        ),
        (
            "/rtls/gateways/ESP32-LOBBY/beacon",
            GatewayTopic(gateway_id="ESP32-LOBBY", kind="beacon"),
        ),
        (
            "$share/workers/rtls/gateways/ESP32-LOBBY/beacon",
            GatewayTopic(gateway_id="ESP32-LOBBY", kind="beacon"),
        ),
    ],
)
def test_every_topic_form_names_its_gateway_kind_and_place(
    topic: str, expected: GatewayTopic
) -> None:
    assert parse_gateway_topic(topic, PREFIX) == expected


@pytest.mark.parametrize(
    "prefix",
    ["security-vision/gateways", "security-vision/gateways/#", "/security-vision/gateways/"],
)
def test_the_prefix_may_be_given_as_the_subscription_filter_or_with_slashes(prefix: str) -> None:
    parsed = parse_gateway_topic("security-vision/gateways/ESP32-LOBBY/beacon", prefix)

    assert parsed == GatewayTopic(gateway_id="ESP32-LOBBY", kind="beacon")


@pytest.mark.parametrize(
    "topic",
    [
        "other/gateways/AC233FC07DA5",
        "rtls/gateways",
        "rtls/gateways/",
        "rtls/gatewaysX/AC233FC07DA5",
        "rtls/gateways/AC233FC07DA5/absent",
        "rtls/gateways/AC233FC07DA5/beacon/extra",
        "rtls/gateways//beacon",
        "rtls/gateways/acme/torre-a/3",
        "rtls/gateways/acme/torre-a/3/camera/AC233FC07DA5",
        "rtls/gateways/acme/torre-a/3/gateway/AC233FC07DA5/beacon/x",
        "rtls/gateways/acme/torre-a/3/gateway/AC233FC07DA5/uplink",
        "rtls/gateways/" + "x/" * 500,
    ],
)
def test_a_topic_matching_no_pattern_is_an_unknown_topic_with_a_short_detail(topic: str) -> None:
    parsed = parse_gateway_topic(topic, PREFIX)

    assert isinstance(parsed, Rejection)
    assert parsed.reason == "unknown_topic"
    assert len(parsed.detail) <= 120


@given(st.text(max_size=300), st.sampled_from([PREFIX, "a", "", "rtls/gateways/#"]))
def test_no_topic_makes_the_parser_raise(topic: str, prefix: str) -> None:
    parsed = parse_gateway_topic(topic, prefix)

    assert isinstance(parsed, GatewayTopic) or parsed.reason == "unknown_topic"


# --- payload shapes and decisions ---------------------------------------------------------


def gateway(kind: str | None = "beacon", gateway_id: str = "AC233FC07DA5") -> GatewayTopic:
    parsed = parse_gateway_topic(f"{PREFIX}/{gateway_id}" + (f"/{kind}" if kind else ""), PREFIX)
    assert isinstance(parsed, GatewayTopic)
    return parsed


def decode(document: Any, topic: GatewayTopic | None = None) -> GatewayMessage:
    payload = document if isinstance(document, bytes) else msgspec.json.encode(document)
    return decode_gateway_message(topic or gateway(), payload)


def reasons(message: GatewayMessage) -> list[str]:
    return [r.reason for r in message.rejections]


def test_one_bad_reading_does_not_drop_its_neighbours() -> None:
    message = decode(
        {
            "readings": [
                {"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60},
                {"tag_mac": "not a mac", "rssi": -60},
                {"tag_mac": "AA:BB:CC:DD:EE:02", "rssi": -61.6},
                {"tag_mac": "AA:BB:CC:DD:EE:03", "rssi": -128},
                {"tag_mac": "AA:BB:CC:DD:EE:03", "rssi": "-60"},
                {"tag_mac": "AA:BB:CC:DD:EE:03", "rssi": -60, "ts": "yesterday"},
                "AA:BB:CC:DD:EE:03",
                {"tag_mac": "aabbccddee04", "rssi": 20, "ts": T0_EPOCH},
            ]
        }
    )

    assert as_dicts(message.observations) == [
        {"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": None},
        {"tag_mac": "AA:BB:CC:DD:EE:02", "rssi": -62, "ts": None},
        {"tag_mac": "AA:BB:CC:DD:EE:04", "rssi": 20, "ts": T0},
    ]
    assert reasons(message) == [
        "invalid_mac",
        "invalid_rssi",
        "invalid_rssi",
        "invalid_timestamp",
        "wrong_type",
    ]


@pytest.mark.parametrize(
    ("payload", "topic", "reason"),
    [
        (b"{not json", gateway(), "undecodable"),
        (b"\x00\x01\x02", gateway(), "undecodable"),
        (b"\x81\xa3mac", gateway(), "undecodable"),
        (b"", gateway("beacon"), "undecodable"),
        (b"42", gateway(), "wrong_type"),
        (b'"hello"', gateway(), "wrong_type"),
        (b'{"foo": 1}', gateway("beacon"), "wrong_type"),
        (b'{"readings": {"tag_mac": "AA:BB:CC:DD:EE:01"}}', gateway(), "wrong_type"),
        (b'{"mac": "12:34:56:78:9A:BC", "devices": "none"}', gateway(), "wrong_type"),
        (b"[1]", gateway(), "wrong_type"),
        (b"$GPRS,0BE383050DE8,F008D1789200,-61,02", gateway(), "wrong_type"),
        (b'{"tag_mac": "AA:BB:CC:DD:EE", "rssi": -60}', gateway(), "invalid_mac"),
        (b'{"tag_mac": 12345, "rssi": -60}', gateway(), "invalid_mac"),
        (b'{"readings": [{"rssi": -60}]}', gateway(), "invalid_mac"),
        (b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": 21}', gateway(), "invalid_rssi"),
        (b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": true}', gateway(), "invalid_rssi"),
        (b'{"tag_mac": "AA:BB:CC:DD:EE:01"}', gateway(), "invalid_rssi"),
        (
            b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": -5}',
            gateway(),
            "invalid_timestamp",
        ),
        (
            b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": 12345}',
            gateway(),
            "invalid_timestamp",
        ),
        (
            b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": "2026-13-01"}',
            gateway(),
            "invalid_timestamp",
        ),
        (
            b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": [1]}',
            gateway(),
            "invalid_timestamp",
        ),
        (b" " * (MAX_PAYLOAD_BYTES + 1), gateway(), "too_large"),
        (
            b'{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60}',
            GatewayTopic(gateway_id=""),
            "no_gateway",
        ),
    ],
)
def test_each_kind_of_bad_input_is_rejected_with_its_reason(
    payload: bytes, topic: GatewayTopic, reason: str
) -> None:
    message = decode_gateway_message(topic, payload)

    assert reasons(message) == [reason]
    assert message.observations == ()
    assert len(message.rejections[0].detail) <= 120


def test_an_unknown_topic_is_rejected_before_any_payload_is_read() -> None:
    assert parse_gateway_topic("rtls/cameras/x/info", PREFIX) == Rejection(
        reason="unknown_topic", detail="not under 'rtls/gateways': 'rtls/cameras/x/info'"
    )


def test_a_too_large_message_is_one_rejection_whatever_it_holds() -> None:
    reading = {"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60}
    payload = msgspec.json.encode({"readings": [reading] * 10_000})
    assert len(payload) > MAX_PAYLOAD_BYTES

    message = decode(payload)

    assert reasons(message) == ["too_large"]
    assert message.observations == ()


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (T0_EPOCH, T0),
        (T0_EPOCH * 1000, T0),
        (T0_EPOCH * 1000 + 123, T0 + timedelta(milliseconds=123)),
        (T0_EPOCH + 0.5, T0 + timedelta(milliseconds=500)),
        (str(T0_EPOCH), T0),
        ("2026-11-29T10:00:00", T0),
        ("2026-11-29 10:00:00.250", T0 + timedelta(milliseconds=250)),
        ("2026-11-29T10:00:00Z", T0),
        ("2026-11-29T07:00:00-03:00", T0),
        ("2026-11-29T13:00:00+03:00", T0),
        (None, None),
    ],
)
def test_times_are_epoch_seconds_or_milliseconds_or_iso_and_always_utc(
    ts: object, expected: datetime | None
) -> None:
    message = decode({"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "timestamp": ts})

    assert message.rejections == ()
    assert message.observations[0].ts == expected
    if expected is not None:
        assert message.observations[0].ts is not None
        assert message.observations[0].ts.utcoffset() == timedelta(0)


def test_a_heartbeat_with_a_gateway_mac_and_a_time_is_no_reading() -> None:
    heartbeat = {
        "gateway_mac": "AA:BB:CC:DD:EE:01",
        "timestamp": "2026-11-29T10:00:00",
        "online": True,
    }

    message = decode(heartbeat, gateway("detection", "ESP32-LOBBY"))

    assert message.observations == ()
    assert message.rejections == ()
    assert message.online is True
    assert message.gateway_mac == "AA:BB:CC:DD:EE:01"


def test_mac_is_the_tag_when_another_key_names_the_gateway() -> None:
    message = decode(
        {"gateway": "aa:bb:cc:dd:ee:09", "mac": "112233445566", "RSSI": -70},
        gateway("beacon", "ESP32-LOBBY"),
    )

    assert message.gateway_mac == "AA:BB:CC:DD:EE:09"
    assert as_dicts(message.observations) == [
        {"tag_mac": "11:22:33:44:55:66", "rssi": -70, "ts": None}
    ]


def test_mac_is_the_gateway_when_a_tag_key_names_the_tag() -> None:
    message = decode(
        {"mac": "AA:BB:CC:DD:EE:09", "tagMac": "11:22:33:44:55:66", "rssi": -70},
        gateway("beacon", "ESP32-LOBBY"),
    )

    assert message.gateway_mac == "AA:BB:CC:DD:EE:09"
    assert message.observations[0].tag_mac == "11:22:33:44:55:66"


def test_the_topic_mac_wins_over_the_payload_gateway_and_a_bad_payload_gateway_is_ignored() -> None:
    named = decode({"gateway_mac": "AA:BB:CC:DD:EE:09", "tag": "112233445566", "rssi": -70})
    unreadable = decode(
        {"gateway_mac": "lobby", "tag": "112233445566", "rssi": -70}, gateway("beacon", "ESP32-X")
    )

    assert named.gateway_mac == "AC:23:3F:C0:7D:A5"
    assert unreadable.gateway_mac is None
    assert unreadable.gateway_key == "ESP32-X"
    assert unreadable.rejections == ()


def test_a_minew_gateway_element_names_the_gateway_the_topic_does_not() -> None:
    elements = [
        {"type": "Gateway", "mac": "AC233FC07DA5"},
        {"type": "iBeacon", "mac": "0BE383050DE8", "rssi": -58},
        {"type": "Unknown", "mac": "5C31A2B4C6D8"},
        7,
    ]

    message = decode(elements, gateway(None, "minew-lobby"))

    assert message.gateway_mac == "AC:23:3F:C0:7D:A5"
    assert as_dicts(message.observations) == [
        {"tag_mac": "0B:E3:83:05:0D:E8", "rssi": -58, "ts": None}
    ]
    assert reasons(message) == ["invalid_rssi", "wrong_type"]


def test_an_ingics_line_that_is_bad_is_rejected_alone() -> None:
    payload = (
        b"$GPRP,0BE383050DE8,F008D1789200,-61,0201\r\n"
        b"$GPRP,0BE383050DE8,F008D1789200,loud,0201\r\n"
        b"$GPRP,ZZE383050DE8,F008D1789200,-61,0201\r\n"
        b"$GPRP,0BE383050DE8,F008D1789200,-61,0201,soon\r\n"
        b"garbage\r\n"
        b"\r\n"
        b"$GPRP,7C2F80A1B2C3,F008D1789200,-77,0201,1795946410000\n"
    )

    message = decode(payload, gateway("beacon", "ingics-1"))

    assert message.gateway_mac == "F0:08:D1:78:92:00"
    assert as_dicts(message.observations) == [
        {"tag_mac": "0B:E3:83:05:0D:E8", "rssi": -61, "ts": None},
        {"tag_mac": "7C:2F:80:A1:B2:C3", "rssi": -77, "ts": T0 + timedelta(seconds=10)},
    ]
    assert reasons(message) == ["invalid_rssi", "invalid_mac", "invalid_timestamp", "wrong_type"]


def test_an_april_brother_record_too_short_or_too_loud_is_rejected_alone() -> None:
    good = b"\x00\x0b\xe3\x83\x05\x0d\xe8\xc1\x02\x01\x06"
    loud = b"\x00\x0b\xe3\x83\x05\x0d\xe9\x15"
    short = b"\x00\x0b\xe3"
    payload = msgspec.msgpack.encode(
        {"mac": b"\x12\x34\x56\x78\x9a\xbc", "devices": [good, loud, short, "text"]}
    )

    message = decode(payload, gateway("beacon", "ab-1"))

    assert message.gateway_mac == "12:34:56:78:9A:BC"
    assert as_dicts(message.observations) == [
        {"tag_mac": "0B:E3:83:05:0D:E8", "rssi": -63, "ts": None}
    ]
    assert reasons(message) == ["invalid_rssi", "wrong_type", "wrong_type"]


@pytest.mark.parametrize(
    ("payload", "kind", "online"),
    [
        (b'{"status": "offline", "ip": "10.0.4.21"}', "status", False),
        (b'{"status": "Online"}', "beacon", True),
        (b'{"online": false}', None, False),
        (b"offline", "status", False),
        (b'"online"', None, True),
        (b"", "heartbeat", True),
        (b"  \n", "status", True),
        (b"{}", "heartbeat", True),
        (b'{"uptime": 5}', "status", True),
        (b'{"readings": []}', "beacon", True),
        (b'[{"type": "Gateway", "mac": "AC233FC07DA5"}]', None, True),
    ],
)
def test_status_and_heartbeat_documents_and_empty_reports_say_whether_the_gateway_is_online(
    payload: bytes, kind: str | None, online: bool
) -> None:
    message = decode(payload, gateway(kind))

    assert message.online is online
    assert message.observations == ()
    assert message.rejections == ()


# --- the invariant, under arbitrary and mutated input --------------------------------------


def assert_accounted_for(message: GatewayMessage) -> None:
    """See the module docstring: something came out, and all of it is well formed."""
    assert message.observations or message.rejections or message.online is not None
    for rejection in message.rejections:
        assert rejection.reason in DECODER_REASONS
        assert len(rejection.detail) <= 120
        assert not rejection.detail.startswith(INTERNAL_ERROR)
    for observation in message.observations:
        assert normalize_mac(observation.tag_mac) == observation.tag_mac
        assert RSSI_MIN <= observation.rssi <= RSSI_MAX
        if observation.ts is not None:
            assert observation.ts.utcoffset() == timedelta(0)
            assert observation.ts.year >= 2000
    if message.gateway_mac is not None:
        assert normalize_mac(message.gateway_mac) == message.gateway_mac


topics = st.sampled_from(
    [gateway(kind) for kind in ("beacon", "detection", "status", "heartbeat", None)]
    + [gateway("beacon", "ESP32-LOBBY")]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["AA:BB:CC:DD:EE:01", "0be383050de8", "2026-11-29T10:00:00Z", "online"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["tag_mac", "mac", "rssi", "ts", "timestamp", "type", "readings", "x"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
msgpack_values = st.recursive(
    json_scalars | st.binary(max_size=24),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(["mac", "devices", "rssi", "v"]), children, max_size=5)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=2048), topics)
def test_arbitrary_bytes_never_make_the_decoder_raise_or_say_nothing(
    payload: bytes, topic: GatewayTopic
) -> None:
    assert_accounted_for(decode_gateway_message(topic, payload))


@given(json_values, topics)
def test_arbitrary_json_documents_are_read_or_rejected(document: Any, topic: GatewayTopic) -> None:
    assert_accounted_for(decode_gateway_message(topic, msgspec.json.encode(document)))


@given(msgpack_values, topics)
def test_arbitrary_messagepack_documents_are_read_or_rejected(
    document: Any, topic: GatewayTopic
) -> None:
    assert_accounted_for(decode_gateway_message(topic, msgspec.msgpack.encode(document)))


def replace_one_value(document: Any, draw: Callable[[Any], Any]) -> Any:
    """The document with one of its values, at any depth, swapped for a random one."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in children:
            walk(child, (*path, key))

    walk(document, ())
    path = draw(st.sampled_from(paths))
    if not path:
        return draw(msgpack_values)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(msgpack_values)
    return document


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_fixtures_never_make_the_decoder_raise_or_say_nothing(
    fixture_payloads: list[tuple[GatewayTopic, bytes]], data: st.DataObject
) -> None:
    topic, payload = data.draw(st.sampled_from(fixture_payloads))
    mutation = data.draw(st.sampled_from(["flip", "truncate", "replace"]))
    if mutation == "flip":
        mutated = bytearray(payload)
        for _ in range(data.draw(st.integers(1, 8))):
            index = data.draw(st.integers(0, len(mutated) - 1))
            mutated[index] ^= data.draw(st.integers(1, 255))
        payload = bytes(mutated)
    elif mutation == "truncate":
        payload = payload[: data.draw(st.integers(0, len(payload) - 1))]
    elif payload[0] >= 0x80:
        document = replace_one_value(msgspec.msgpack.decode(payload), data.draw)
        payload = msgspec.msgpack.encode(document)
    elif payload.startswith(b"$"):
        lines = payload.decode().splitlines()
        fields = lines[0].split(",")
        fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(st.text(max_size=20))
        payload = "\n".join([",".join(fields), *lines[1:]]).encode(errors="surrogatepass")
    else:
        document = replace_one_value(msgspec.json.decode(payload), data.draw)
        payload = msgspec.json.encode(document)

    assert_accounted_for(decode_gateway_message(topic, payload))


@given(
    st.lists(
        st.tuples(st.booleans(), json_values),
        max_size=30,
    )
)
def test_every_reading_yields_exactly_one_observation_or_one_rejection(
    readings: list[tuple[bool, Any]],
) -> None:
    good = {"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": "2026-11-29T10:00:00Z"}
    records = [good if use_good else other for use_good, other in readings]

    message = decode({"readings": records})

    assert_accounted_for(message)
    assert len(message.observations) + len(message.rejections) == len(records)
    assert len(message.observations) >= sum(use_good for use_good, _ in readings)

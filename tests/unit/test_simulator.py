"""The traffic simulator: repeatable, plausible, and readable by the decoder in every format."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.simulator import (
    MIXED,
    PAYLOAD_FORMATS,
    SimulatedReading,
    TrafficSimulator,
    encode_heartbeat,
    encode_readings,
    gateway_mac,
    tag_mac,
)
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.domain.rtls import GatewayMessage, GatewayTopic

PREFIX = "rtls/gateways"
T0 = datetime(2026, 11, 29, 10, 0, 0, 123456, tzinfo=UTC)


def decoded(topic: str, payload: bytes) -> GatewayMessage:
    where = parse_gateway_topic(topic, PREFIX)
    assert isinstance(where, GatewayTopic), where
    return decode_gateway_message(where, payload)


def run(simulator: TrafficSimulator, seconds: float, per_tick: int) -> list[tuple[str, bytes]]:
    published = []
    for step in range(int(seconds * 2)):
        for publication in simulator.tick(T0 + timedelta(seconds=step / 2), per_tick):
            published.append((publication.topic, publication.payload))
    return published


def as_sent(payload_format: str, reading: SimulatedReading) -> tuple[str, int, datetime | None]:
    """A reading as its format can carry it: some formats send no time, some coarser ones."""
    match payload_format:
        case "espresense" | "aprilbrother":
            ts = None
        case "ingics":
            ts = reading.ts.replace(microsecond=0)
        case "readings" | "minew":
            ts = reading.ts.replace(microsecond=reading.ts.microsecond // 1000 * 1000)
        case _:
            ts = reading.ts
    return (reading.tag_mac, reading.rssi, ts)


def test_the_same_seed_gives_the_same_traffic_byte_for_byte() -> None:
    first = run(TrafficSimulator(gateways=6, tags=30, seed=42), seconds=30, per_tick=25)
    second = run(TrafficSimulator(gateways=6, tags=30, seed=42), seconds=30, per_tick=25)
    other = run(TrafficSimulator(gateways=6, tags=30, seed=43), seconds=30, per_tick=25)

    assert first == second
    assert first != other


def test_the_original_simulators_gateway_and_tag_macs_come_first() -> None:
    assert [gateway_mac(i) for i in range(5)] == [f"AA:BB:CC:DD:EE:0{n}" for n in range(1, 6)]
    assert [tag_mac(i) for i in range(4)] == [f"11:22:33:44:55:{n}" for n in (66, 77, 88, 99)]


@pytest.mark.parametrize("payload_format", PAYLOAD_FORMATS)
def test_every_format_round_trips_through_the_decoder(payload_format: str) -> None:
    simulator = TrafficSimulator(gateways=4, tags=25, seed=7, payload_format=payload_format)
    readings = simulator.readings(T0, 60)
    for gateway in simulator.gateways:
        mine = [r for r in readings if r.gateway_mac == gateway.mac]
        if not mine:
            continue
        publications = encode_readings(gateway, mine, prefix=PREFIX)

        messages = [decoded(p.topic, p.payload) for p in publications]

        assert {m.gateway_mac for m in messages} == {gateway.mac}
        assert [m.rejections for m in messages] == [()] * len(messages)
        observed = [(o.tag_mac, o.rssi, o.ts) for m in messages for o in m.observations]
        assert observed == [as_sent(payload_format, r) for r in mine]
        assert sum(p.readings for p in publications) == len(mine)


def test_a_heartbeat_round_trips_as_an_online_gateway() -> None:
    gateway = TrafficSimulator(gateways=1, tags=1, seed=1).gateways[0]
    publication = encode_heartbeat(gateway, T0, prefix=PREFIX)

    message = decoded(publication.topic, publication.payload)

    assert publication.topic == f"{PREFIX}/AA:BB:CC:DD:EE:01/heartbeat"
    assert (message.gateway_mac, message.online, message.observations) == (gateway.mac, True, ())


def test_mixed_traffic_gives_the_gateways_every_format_and_all_of_it_decodes() -> None:
    simulator = TrafficSimulator(gateways=12, tags=100, seed=3, payload_format=MIXED)

    published = run(simulator, seconds=20, per_tick=200)

    assert {g.payload_format for g in simulator.gateways} == set(PAYLOAD_FORMATS)
    messages = [decoded(topic, payload) for topic, payload in published]
    assert all(m.rejections == () for m in messages)
    assert sum(len(m.observations) for m in messages) == 40 * 200
    assert {m.gateway_mac for m in messages} == {g.mac for g in simulator.gateways}


def test_each_tick_carries_exactly_the_readings_asked_for() -> None:
    simulator = TrafficSimulator(gateways=5, tags=4, seed=1)

    for step, wanted in enumerate([0, 1, 7, 50, 333]):
        publications = simulator.tick(T0 + timedelta(seconds=step), wanted)
        assert sum(p.readings for p in publications) == wanted


def test_every_gateway_heartbeats_once_every_ten_seconds() -> None:
    simulator = TrafficSimulator(gateways=5, tags=4, seed=1)

    published = run(simulator, seconds=60, per_tick=0)

    beats = Counter(topic for topic, _ in published)
    assert all(topic.endswith("/heartbeat") for topic in beats)
    assert beats == {f"{PREFIX}/{gateway_mac(i)}/heartbeat": 6 for i in range(5)}


def test_tags_walk_only_between_neighbouring_gateways_and_the_nearest_hears_them_loudest() -> None:
    simulator = TrafficSimulator(gateways=8, tags=10, seed=11)
    known = {g.mac for g in simulator.gateways}
    index_of = {g.mac: g.index for g in simulator.gateways}
    where = {tag: simulator.location_of(tag) for tag in simulator.tag_macs}
    moves = 0

    for second in range(0, 3 * 3600, 5):
        heard = simulator.readings(T0 + timedelta(seconds=second), 10)
        for tag in simulator.tag_macs:
            now = simulator.location_of(tag)
            assert abs(index_of[now] - index_of[where[tag]]) <= 1
            moves += now != where[tag]
            where[tag] = now
            mine = [r for r in heard if r.tag_mac == tag]
            if mine:
                assert 1 <= len(mine) <= 3
                loudest = max(mine, key=lambda r: r.rssi)
                assert loudest.gateway_mac == now
                assert all(r.rssi < loudest.rssi for r in mine if r is not loudest)
        assert {r.gateway_mac for r in heard} <= known
        assert all(-95 <= r.rssi <= -50 for r in heard)

    assert moves > 10 * 3


@pytest.mark.parametrize(
    ("gateways", "tags", "payload_format"),
    [(0, 1, MIXED), (1, 0, MIXED), (1, 1, "protobuf")],
)
def test_an_impossible_site_is_refused(gateways: int, tags: int, payload_format: str) -> None:
    with pytest.raises(ValueError, match=r"must be|unknown payload format"):
        TrafficSimulator(gateways=gateways, tags=tags, seed=1, payload_format=payload_format)

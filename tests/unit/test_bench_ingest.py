"""bench/ingest.py's own parts: what it publishes is read back exactly as meant, and what it
reports is computed right. (The benchmark itself runs by hand: bench/README.md.)"""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench import ingest

from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.simulator import PAYLOAD_FORMATS
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.domain.rtls import GatewayMessage, GatewayTopic

PREFIX = "bench-test/gateways"
CONFIG = Path(ingest.__file__).with_name("mosquitto.conf")


def decoded(topic: str, payload: bytes) -> GatewayMessage:
    where = parse_gateway_topic(topic, PREFIX)
    assert isinstance(where, GatewayTopic), where
    return decode_gateway_message(where, payload)


def payloads(
    payload_format: str = "readings", tags: int = 1000, gateways: int = 5
) -> ingest.Payloads:
    return ingest.Payloads(
        prefix=PREFIX,
        payload_format=payload_format,
        tags=[ingest.load_tag(i) for i in range(tags)],
        gateways=gateways,
        per_message=100,
    )


def test_every_documented_reading_is_new_and_a_batch_carries_different_tags() -> None:
    load = payloads(tags=1000, gateways=5)
    identities = set()
    first_batch_tags = set()
    for m in range(200):  # every gateway round all its windows, twice
        [(topic, payload)] = load.next()
        message = decoded(topic, payload)
        assert len(message.observations) == 100
        assert not message.rejections
        for reading in message.observations:
            assert reading.ts is not None
            identities.add((reading.tag_mac, reading.ts, message.gateway_key))
            if m < 5:
                first_batch_tags.add(reading.tag_mac)
    assert len(identities) == 200 * 100
    assert len(first_batch_tags) == 5 * 100


@pytest.mark.parametrize("payload_format", PAYLOAD_FORMATS)
def test_every_format_decodes_to_the_readings_it_was_given(payload_format: str) -> None:
    load = payloads(payload_format)
    publications = load.next()
    readings = [r for topic, payload in publications for r in decoded(topic, payload).observations]
    assert len(readings) == 100
    assert len(publications) * load.readings_per_publication == 100


def test_formats_with_coarse_time_get_enough_tags_to_stay_unique() -> None:
    # Ingics says whole seconds: 200,000 readings/s over 50 gateways is 4,000 per gateway per
    # second, so a gateway must not come back to a tag sooner than twice that.
    assert ingest.tags_needed("ingics", 200_000, 50, 100) >= 8000
    assert ingest.tags_needed("readings", 200_000, 50, 100) == 100


def test_a_marker_is_stored_at_the_exact_microsecond_it_names() -> None:
    at = ingest.moment(1_795_000_000_123_457)
    message = decoded(
        f"{PREFIX}/{ingest.PROBE_GATEWAY}/beacon", ingest.marker([ingest.PROBE_TAG], at)
    )
    [reading] = message.observations
    assert reading.tag_mac == ingest.PROBE_TAG
    assert reading.ts == at == datetime(2026, 11, 18, 11, 6, 40, 123457, tzinfo=UTC)


def test_a_fence_has_a_reading_in_every_presence_lane() -> None:
    chosen = ingest.one_tag_per_lane({"A": 10, "B": 12, "C": 13, "D": 15})
    assert chosen == {"A": 10, "C": 13}
    with pytest.raises(RuntimeError, match="every presence lane"):
        ingest.one_tag_per_lane({"A": 10, "B": 12})


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert ingest.percentile(values, 0.50) == 50.0
    assert ingest.percentile(values, 0.99) == 99.0
    assert ingest.percentile([3.0], 0.99) == 3.0
    assert ingest.percentile([], 0.5) is None


def test_the_bench_broker_listens_on_loopback_at_the_port_given_and_keeps_a_backlog() -> None:
    config = ingest.broker_config(CONFIG.read_text(), 41234)
    settings = {
        line.split()[0]: line.split()[1:]
        for line in config.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert settings["listener"] == ["41234", "127.0.0.1"]
    assert int(settings["max_queued_messages"][0]) >= 100_000
    assert settings["persistence"] == ["false"]
    with pytest.raises(ingest.BenchError):
        ingest.broker_config("allow_anonymous true\n", 41234)


def test_cpu_shares_are_per_cent_of_one_core_and_the_rest_is_other() -> None:
    start = {"at": 0.0, "worker": 1.0, "postgres": {10: 5.0}, "machine": 10.0}
    end = {"at": 2.0, "worker": 2.0, "postgres": {10: 6.0, 11: 0.5}, "machine": 14.0}
    shares = ingest.CpuMeter.shares(start, end, {"generator": 0.5})
    assert shares == {
        "generator": 25.0,
        "worker": 50.0,
        "postgres": 75.0,
        "other": 50.0,
        "machine": 200.0,
    }


def test_a_profile_is_summarized_per_thread_as_shares_of_wall_time(tmp_path: Path) -> None:
    raw = tmp_path / "worker.txt"
    raw.write_text(
        "thread (1): MainThread;run (securityvision/w.py:10);decode (x.py:1) 30\n"
        "thread (1): MainThread;run (securityvision/w.py:10);store (securityvision/s.py:5) 20\n"
        "thread (2): paho;_loop (paho/client.py:1667) 10\n"
    )
    lines = ingest.summarize_profile(raw, seconds=1)
    assert lines[0] == "  MainThread: busy 50% of the time"
    assert "     20.0%  in store (securityvision/s.py)" in lines
    assert "     30.0%  self decode (x.py:1)" in lines
    # on every sample of its thread: says nothing
    assert not any("run (securityvision/w.py)" in line for line in lines)
    assert "  paho: busy 10% of the time" in lines


def test_with_neighbours_each_tag_is_heard_by_its_neighbouring_gateways_only() -> None:
    tags, gateways, neighbours = 1000, 5, 2
    load = ingest.Payloads(
        prefix=PREFIX,
        payload_format="readings",
        tags=[ingest.load_tag(i) for i in range(tags)],
        gateways=gateways,
        per_message=100,
        neighbours=neighbours,
    )
    heard_by: dict[str, set[object]] = {}
    for _ in range(200):
        [(topic, payload)] = load.next()
        message = decoded(topic, payload)
        for reading in message.observations:
            heard_by.setdefault(reading.tag_mac, set()).add(message.gateway_key)
    assert len(heard_by) == tags  # every tag is heard
    assert {len(g) for g in heard_by.values()} == {neighbours}
    # One window for five gateways: some gateway would hear no tag.
    with pytest.raises(ValueError, match="too few tags"):
        ingest.Payloads(
            prefix=PREFIX,
            payload_format="readings",
            tags=[ingest.load_tag(i) for i in range(100)],
            gateways=gateways,
            per_message=100,
            neighbours=1,
        )

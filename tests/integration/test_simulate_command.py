"""``securityvision simulate`` against the test broker: what it says it published arrives."""

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho
import pytest
from click.testing import CliRunner

from securityvision.adapters.embedded import free_port
from securityvision.adapters.mqtt.cambus import CambusTopic, parse_cambus_topic
from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.domain.rtls import GatewayTopic
from securityvision.entrypoints.simulate import SimulationOptions, run_simulation, simulate
from tests.conftest import MqttAddress

SUMMARY = re.compile(r"^Published ([\d,]+) messages, ([\d,]+) readings", re.MULTILINE)


def private_prefix() -> str:
    """A topic prefix nobody else on a shared broker publishes under."""
    return f"sv-test-{uuid.uuid4().hex[:12]}/gateways"


def under(prefix: str, topic: str) -> bool:
    """Whether ``topic`` is one of this test's. The embedded broker (amqtt 0.12) has been seen
    handing a subscriber a message of another test's topic, outside its subscription, when
    the whole suite shares it; those are not what these tests count."""
    return topic.startswith(f"{prefix}/")


class Counter:
    """A subscriber in paho's own thread, so it counts while the command runs in ours."""

    def __init__(self, address: MqttAddress, prefix: str) -> None:
        self._prefix = prefix
        self.topics: list[str] = []
        self.payloads: list[bytes] = []
        self._subscribed = threading.Event()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self._client.on_connect = lambda client, *_: client.subscribe(f"{prefix}/#", qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._received
        self._client.connect(address.host, address.port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "the counting subscriber never got its SUBACK"

    def _received(self, _client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        if not under(self._prefix, message.topic):
            return
        self.topics.append(message.topic)
        self.payloads.append(message.payload)

    def wait_for(self, count: int, seconds: float = 10) -> int:
        deadline = time.monotonic() + seconds
        while len(self.topics) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.topics)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # A .env in the developer's checkout must not steer these runs.
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def prefix() -> str:
    return private_prefix()


@pytest.fixture
def counter(mqtt_address: MqttAddress, prefix: str) -> Iterator[Counter]:
    subscriber = Counter(mqtt_address, prefix)
    yield subscriber
    subscriber.close()


@pytest.mark.mqtt
def test_the_command_publishes_for_its_duration_and_every_message_arrives_and_decodes(
    runner: CliRunner, mqtt_address: MqttAddress, prefix: str, counter: Counter
) -> None:
    arguments = ["--host", mqtt_address.host, "--port", str(mqtt_address.port)]
    arguments += ["--prefix", prefix, "--gateways", "6", "--tags", "30", "--rate", "200"]
    arguments += ["--duration", "1", "--seed", "5", "--cameras", "0"]

    result = runner.invoke(simulate, arguments, env={"RTLS_MQTT_TOPIC": None})

    assert result.exit_code == 0, result.output
    summary = SUMMARY.search(result.output)
    assert summary is not None, result.output
    messages, readings = (int(group.replace(",", "")) for group in summary.groups())
    assert readings == 200
    assert counter.wait_for(messages) == messages
    decoded = []
    for topic, payload in zip(counter.topics, counter.payloads, strict=True):
        where = parse_gateway_topic(topic, prefix)
        assert isinstance(where, GatewayTopic)
        decoded.append(decode_gateway_message(where, payload))
    assert all(m.rejections == () for m in decoded)
    assert sum(len(m.observations) for m in decoded) == readings


@pytest.mark.mqtt
async def test_a_run_without_a_duration_stops_when_asked_and_counts_what_it_sent(
    mqtt_address: MqttAddress, prefix: str
) -> None:
    options = SimulationOptions(
        host=mqtt_address.host, port=mqtt_address.port, prefix=prefix, rate=100, seed=9
    )
    stop = asyncio.Event()
    received = 0
    async with aiomqtt.Client(
        mqtt_address.host, mqtt_address.port, protocol=aiomqtt.ProtocolVersion.V311
    ) as subscriber:
        await subscriber.subscribe(f"{prefix}/#", qos=1)
        run = asyncio.create_task(run_simulation(options, stop=stop))
        await asyncio.sleep(0.8)
        stop.set()
        summary = await asyncio.wait_for(run, 5)
        async with asyncio.timeout(10):
            async for _message in subscriber.messages:
                received += 1
                if received == summary.messages:
                    break

    assert summary.seed == 9
    assert 0.5 < summary.elapsed < 2
    assert summary.readings == 50  # one half-second tick at 100 readings/s
    assert summary.heartbeats == 5
    assert received == summary.messages


@pytest.mark.mqtt
async def test_cameras_publish_cam_bus_messages_the_worker_reads(
    mqtt_address: MqttAddress, prefix: str
) -> None:
    cameras = prefix.replace("/gateways", "/cameras")
    options = SimulationOptions(
        host=mqtt_address.host,
        port=mqtt_address.port,
        prefix=prefix,
        rate=10,
        duration=1.5,
        seed=2,
        cameras=2,
        cambus_prefix=cameras,
        captures_per_minute=60,
    )
    received: list[tuple[str, bytes]] = []
    async with aiomqtt.Client(
        mqtt_address.host, mqtt_address.port, protocol=aiomqtt.ProtocolVersion.V311
    ) as subscriber:
        await subscriber.subscribe(f"{cameras}/#", qos=1)
        summary = await run_simulation(options)
        async with asyncio.timeout(10):
            async for message in subscriber.messages:
                assert isinstance(message.payload, bytes)
                if not under(cameras, str(message.topic)):
                    continue
                received.append((str(message.topic), message.payload))
                if len(received) == summary.camera_messages:
                    break

    kinds = [parse_cambus_topic(topic, cameras) for topic, _ in received]
    assert all(isinstance(k, CambusTopic) for k in kinds)
    assert {k.kind for k in kinds if isinstance(k, CambusTopic)} >= {
        "camera_status",
        "collector_status",
        "event",
    }
    assert "camera messages" in summary.line()


def test_an_unreachable_broker_is_one_clear_line(runner: CliRunner) -> None:
    port = free_port()

    result = runner.invoke(
        simulate, ["--host", "127.0.0.1", "--port", str(port), "--duration", "1"]
    )

    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith(f"Error: broker 127.0.0.1:{port}")
    assert "Traceback" not in result.output


def test_the_help_shows_an_example() -> None:
    result = CliRunner().invoke(simulate, ["--help"])

    assert result.exit_code == 0
    assert "Example:  securityvision simulate" in result.output

"""The embedded broker: a port that is taken is refused in one line; MQTT 3.1.1 only."""

import socket
from collections.abc import Iterator

import aiomqtt
import pytest

from securityvision.adapters.embedded import (
    BackgroundBroker,
    EmbeddedBroker,
    EmbeddedServiceError,
    free_port,
    port_in_use,
)

HOST = "127.0.0.1"


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port something else listens on for the length of the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_something_listens_on_is_in_use(listening_port: int) -> None:
    assert port_in_use(HOST, listening_port)


def test_a_free_port_is_not_in_use() -> None:
    assert not port_in_use(HOST, free_port(HOST))


@pytest.mark.mqtt
async def test_the_broker_refuses_a_port_in_use_with_a_clear_error(listening_port: int) -> None:
    broker = EmbeddedBroker(HOST, listening_port)

    with pytest.raises(EmbeddedServiceError) as raised:
        await broker.start()

    assert str(raised.value).startswith(f"port {listening_port} on {HOST} is already in use")
    assert "\n" not in str(raised.value)


@pytest.mark.mqtt
def test_a_second_broker_on_the_same_port_is_refused() -> None:
    with BackgroundBroker(HOST, port=0) as first:
        assert port_in_use(HOST, first.port)

        with pytest.raises(EmbeddedServiceError, match="already in use"):
            BackgroundBroker(HOST, first.port).start()

    assert not port_in_use(HOST, first.port)


@pytest.mark.mqtt
async def test_the_broker_listens_on_the_port_it_reports() -> None:
    async with EmbeddedBroker(HOST, port=0) as broker:
        assert broker.port != 0
        assert port_in_use(HOST, broker.port)
        assert broker.url == f"mqtt://{HOST}:{broker.port}"

    assert not port_in_use(HOST, broker.port)


@pytest.mark.mqtt
async def test_the_broker_speaks_mqtt_311_and_refuses_mqtt_5() -> None:
    async with EmbeddedBroker(HOST, port=0) as broker:
        async with aiomqtt.Client(HOST, broker.port, protocol=aiomqtt.ProtocolVersion.V311):
            pass

        with pytest.raises(aiomqtt.MqttCodeError) as refused:
            async with aiomqtt.Client(HOST, broker.port, protocol=aiomqtt.ProtocolVersion.V5):
                pass

    assert refused.value.rc == 132  # CONNACK "Unsupported protocol version"

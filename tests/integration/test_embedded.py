"""The embedded broker: a port that is taken is refused in one line; MQTT 3.1.1 only. The
embedded PostgreSQL: a start slower than pgserver waits for is waited for."""

import importlib
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import psycopg
import pytest

from securityvision.adapters.embedded import (
    BackgroundBroker,
    EmbeddedBroker,
    EmbeddedPostgres,
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


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's own temporary ones, which another pytest run closes
    to the ``pgserver`` user (tests/conftest.py, ``postgres_server_url``)."""
    root = Path(tempfile.mkdtemp(prefix="securityvision-test-embedded-"))
    try:
        yield root / "data"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_a_postgres_slower_to_start_than_pgserver_waits_for_is_waited_for(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with warnings.catch_warnings():  # as EmbeddedPostgres imports it: XDG_RUNTIME_DIR unset
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        commands = importlib.import_module("pgserver.postgres_server")
    pg_ctl = commands.pg_ctl
    gave_up: list[list[str]] = []

    def impatient(args: list[str], **kwargs: Any) -> str:
        """``pg_ctl start`` giving up before the server is ready, as pgserver's 10 s do on a
        busy machine: the server is launched and goes on starting."""
        if args[-1] != "start":
            return str(pg_ctl(args, **kwargs))
        pg_ctl(["-W" if arg == "-w" else arg for arg in args], **kwargs)
        # After 10 s the server has opened its log, which pgserver then shows.
        for _ in range(100):
            if (data_dir / "log").exists():
                break
            time.sleep(0.1)
        gave_up.append(args)
        raise subprocess.TimeoutExpired(cmd="pg_ctl", timeout=10)

    monkeypatch.setattr(commands, "pg_ctl", impatient)
    with EmbeddedPostgres(data_dir) as server, psycopg.connect(server.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert gave_up
    postmaster = importlib.import_module("pgserver.utils").PostmasterInfo.read_from_pgdata(data_dir)
    assert postmaster is None or not postmaster.is_running()

"""Session fixtures: a PostgreSQL server, a database of this run's own, an MQTT broker.

The same test command runs everywhere. Where ``SECURITYVISION_TEST_DATABASE_URL`` and
``SECURITYVISION_TEST_MQTT_URL`` name running services (CI, this project's machines) the
tests use them; where they are unset or empty the suite starts an embedded PostgreSQL
(pgserver) and an embedded MQTT broker (amqtt) of its own, and stops them at the end.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from securityvision.adapters.embedded import BackgroundBroker, EmbeddedPostgres
from tests.support.databases import create_database, drop_database
from tests.support.fake_chatwoot import FakeChatwoot, running_fake_chatwoot

DATABASE_URL_VARIABLE = "SECURITYVISION_TEST_DATABASE_URL"
MQTT_URL_VARIABLE = "SECURITYVISION_TEST_MQTT_URL"


class MqttAddress(NamedTuple):
    """Where the test broker listens."""

    host: str
    port: int


def parse_mqtt_url(url: str) -> MqttAddress:
    """``mqtt://host[:port]`` (port 1883 when left out) as host and port."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        msg = f"{MQTT_URL_VARIABLE} must look like mqtt://127.0.0.1:1883, not {url!r}"
        raise ValueError(msg)
    return MqttAddress(parts.hostname, parts.port or 1883)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a database on a PostgreSQL server that may create databases.

    The embedded server's data lives in a directory of its own under the system's temporary
    directory, not pytest's: run as root, pgserver opens the parent directories to the
    ``pgserver`` user, and a pytest run starting beside this one closes its own base
    directory again, which would cut a running server off from its files.
    """
    configured = os.environ.get(DATABASE_URL_VARIABLE)
    if configured:
        yield configured
        return
    root = Path(tempfile.mkdtemp(prefix="securityvision-test-pg-"))
    try:
        with EmbeddedPostgres(root / "data") as server:
            yield server.url
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a new database of this test run's own, dropped at the end of the run."""
    url = create_database(postgres_server_url)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, url)


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """``mqtt://host:port`` of a broker: the configured one, else an embedded one.

    The embedded broker runs in a thread of its own, so it keeps answering while a test
    blocks or runs an event loop other than the session's.
    """
    configured = os.environ.get(MQTT_URL_VARIABLE)
    if configured:
        parse_mqtt_url(configured)
        yield configured
        return
    with BackgroundBroker(port=0) as broker:
        yield broker.url


@pytest.fixture(scope="session")
def mqtt_address(mqtt_url: str) -> MqttAddress:
    """The test broker's host and port, for clients that take them apart."""
    return parse_mqtt_url(mqtt_url)


@pytest.fixture
def fake_chatwoot() -> Iterator[FakeChatwoot]:
    """A fake Chatwoot serving HTTP on a free loopback port (tests/support/fake_chatwoot.py)."""
    with running_fake_chatwoot() as fake:
        yield fake

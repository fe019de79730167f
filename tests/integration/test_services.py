"""The services the test fixtures provide answer as the application will use them.

Both kinds of run must pass: against the machine's PostgreSQL and Mosquitto (the
``SECURITYVISION_TEST_*`` variables set) and against the embedded servers (unset). Clients
speak MQTT 3.1.1, the one version both Mosquitto and the embedded broker (amqtt) speak.
"""

import asyncio
import uuid

import aiomqtt
import psycopg
import pytest

from tests.support.databases import temporary_database

PROTOCOL = aiomqtt.ProtocolVersion.V311
RECEIVE_TIMEOUT_SECONDS = 5


def unique_topic(kind: str) -> str:
    """A topic no other test run on the same broker uses."""
    return f"securityvision-test/{uuid.uuid4().hex}/{kind}"


def unique_identifier() -> str:
    return f"securityvision-test-{uuid.uuid4().hex[:12]}"


async def next_message(client: aiomqtt.Client, topic: str) -> aiomqtt.Message:
    """The next message on ``topic``. The embedded broker (amqtt 0.12) has been seen handing
    a new clean session retained messages of other tests' topics, which it did not subscribe
    to; what this file checks is delivery on its own topic, so those are passed over."""
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECONDS):
        async for message in client.messages:
            if message.topic.matches(topic):
                return message
    raise AssertionError("the message stream ended")


@pytest.mark.postgres
async def test_the_database_of_the_run_answers_a_query(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as connection:
        cursor = await connection.execute("select 1, current_database()")
        row = await cursor.fetchone()

    assert row is not None
    assert row[0] == 1
    assert row[1].startswith("sv_test_")


@pytest.mark.postgres
def test_a_temporary_database_is_new_and_gone_afterwards(postgres_server_url: str) -> None:
    with temporary_database(postgres_server_url) as url, psycopg.connect(url) as connection:
        name = connection.execute("select current_database()").fetchone()
        tables = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()

    assert name is not None
    assert tables == (0,)
    with psycopg.connect(postgres_server_url) as connection:
        left = connection.execute(
            "select count(*) from pg_database where datname = %s", (name[0],)
        ).fetchone()
    assert left == (0,)


@pytest.mark.mqtt
async def test_a_qos1_message_reaches_a_subscriber(mqtt_address: tuple[str, int]) -> None:
    topic = unique_topic("qos1")
    async with aiomqtt.Client(
        *mqtt_address, identifier=unique_identifier(), protocol=PROTOCOL
    ) as client:
        await client.subscribe(topic, qos=1)
        await client.publish(topic, b"hello", qos=1)
        message = await next_message(client, topic)

    assert message.topic.matches(topic)
    assert message.payload == b"hello"
    assert message.qos == 1


@pytest.mark.mqtt
async def test_a_persistent_session_gets_what_was_published_while_it_was_away(
    mqtt_address: tuple[str, int],
) -> None:
    topic = unique_topic("persistent")
    identifier = unique_identifier()
    async with aiomqtt.Client(
        *mqtt_address, identifier=identifier, clean_session=False, protocol=PROTOCOL
    ) as subscriber:
        await subscriber.subscribe(topic, qos=1)

    async with aiomqtt.Client(*mqtt_address, protocol=PROTOCOL) as publisher:
        await publisher.publish(topic, b"while away", qos=1)

    async with aiomqtt.Client(
        *mqtt_address, identifier=identifier, clean_session=False, protocol=PROTOCOL
    ) as subscriber:
        message = await next_message(subscriber, topic)
    # End the session so it does not linger on a shared broker.
    async with aiomqtt.Client(
        *mqtt_address, identifier=identifier, clean_session=True, protocol=PROTOCOL
    ):
        pass

    assert message.payload == b"while away"
    assert message.qos == 1


@pytest.mark.mqtt
async def test_a_retained_message_reaches_a_later_subscriber(mqtt_address: tuple[str, int]) -> None:
    topic = unique_topic("retained")
    async with aiomqtt.Client(*mqtt_address, protocol=PROTOCOL) as publisher:
        await publisher.publish(topic, b"last known", qos=1, retain=True)

    async with aiomqtt.Client(*mqtt_address, protocol=PROTOCOL) as subscriber:
        await subscriber.subscribe(topic, qos=1)
        message = await next_message(subscriber, topic)
        # An empty retained message clears it again.
        await subscriber.publish(topic, b"", qos=1, retain=True)

    assert message.payload == b"last known"
    assert message.retain

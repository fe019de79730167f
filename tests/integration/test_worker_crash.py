"""A worker killed with SIGKILL mid-stream loses nothing and stores nothing twice.

Acknowledge-after-commit only protects against a crash if the broker delivers unacknowledged
messages again; the embedded broker (amqtt) does not, so this runs against Mosquitto
(``SECURITYVISION_TEST_MQTT_URL``), as CI does.
"""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from tests.conftest import MQTT_URL_VARIABLE, MqttAddress
from tests.support.databases import temporary_database
from tests.support.rtls import private_prefix, publish, query, register_tags, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.mqtt,
    pytest.mark.skipif(
        not os.environ.get(MQTT_URL_VARIABLE),
        reason="needs a broker that redelivers unacknowledged messages (Mosquitto); "
        "the embedded amqtt broker drops them",
    ),
]

TAGS = [f"AA:BB:CC:00:00:{i:02X}" for i in range(40)]
GATEWAYS = [f"AC233FC07D{i:02X}" for i in range(4)]
MESSAGES = 600
READINGS_PER_MESSAGE = 10


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


def mixed_messages(prefix: str) -> list[tuple[str, bytes]]:
    """Unique readings in four payload formats; every fifth message carries no timestamps."""
    start = datetime.now(UTC) - timedelta(hours=1)
    messages = []
    for m in range(MESSAGES):
        gateway = GATEWAYS[m % len(GATEWAYS)]
        topic = f"{prefix}/{gateway}/beacon"
        stamps = [start + timedelta(milliseconds=m * 50 + r) for r in range(READINGS_PER_MESSAGE)]
        tags = [TAGS[(m * READINGS_PER_MESSAGE + r) % len(TAGS)] for r in range(10)]
        timeless = m % 5 == 4
        match m % 4:
            case 0 | 3:
                body = {
                    "readings": [
                        {"tag_mac": t, "rssi": -60 - r}
                        | ({} if timeless else {"ts": s.isoformat()})
                        for r, (t, s) in enumerate(zip(tags, stamps, strict=True))
                    ]
                }
                payload = json.dumps(body).encode()
            case 1:
                payload = json.dumps(
                    [{"type": "Gateway", "mac": gateway}]
                    + [
                        {"type": "iBeacon", "mac": t.replace(":", ""), "rssi": -70 - r}
                        | ({} if timeless else {"timestamp": s.isoformat()})
                        for r, (t, s) in enumerate(zip(tags, stamps, strict=True))
                    ]
                ).encode()
            case _:
                lines = [
                    f"$GPRP,{t.replace(':', '')},{gateway},{-65 - r},0201061AFF4C00"
                    + ("" if timeless else f",{s.timestamp():.3f}")
                    for r, (t, s) in enumerate(zip(tags, stamps, strict=True))
                ]
                payload = "\n".join(lines).encode()
        messages.append((topic, payload))
    return messages


async def start_worker(
    url: str, mqtt: MqttAddress, prefix: str, log: Path
) -> asyncio.subprocess.Process:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RTLS_", "DATABASE_URL", "MQTT_"))
    } | {
        "DATABASE_URL": url,
        "RTLS_MQTT_HOST": mqtt.host,
        "RTLS_MQTT_PORT": str(mqtt.port),
        "RTLS_MQTT_TOPIC": f"{prefix}/#",
        "RTLS_MQTT_CLIENT_ID": f"crash-{prefix.split('/', 1)[0]}",
        "WORKER_METRICS_PORT": "0",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "securityvision",
        "worker",
        env=env,
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(
    migrated: str, mqtt_address: MqttAddress, tmp_path: Path
) -> None:
    prefix = private_prefix()
    await register_tags(migrated, TAGS)
    messages = mixed_messages(prefix)
    log = tmp_path / "worker.log"
    worker = await start_worker(migrated, mqtt_address, prefix, log)

    async def rows() -> int:
        return int((await query(migrated, "SELECT count(*) FROM collection_logs"))[0][0])

    async def subscribed() -> bool:
        return "connected to" in log.read_text()

    try:
        await wait_for(subscribed, what="the worker to subscribe")
        # Paced over ~3 s, so the kill lands mid-stream however fast the worker stores.
        publisher = asyncio.create_task(
            publish(mqtt_address.host, mqtt_address.port, messages, interval=0.005)
        )

        async def a_third_stored() -> bool:
            return await rows() >= MESSAGES * READINGS_PER_MESSAGE // 3

        await wait_for(a_third_stored, what="a third of the readings")
        assert not publisher.done()  # mid-stream
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        killed_at = await rows()
        await publisher
        worker = await start_worker(migrated, mqtt_address, prefix, log)

        async def everything_stored() -> bool:
            return await rows() >= MESSAGES * READINGS_PER_MESSAGE

        try:
            await wait_for(everything_stored, seconds=60, what="every reading")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {await rows()} of {MESSAGES * READINGS_PER_MESSAGE} stored"
                f" ({killed_at} when killed); worker log:\n{log.read_text()[-6000:]}"
            ) from None
        await asyncio.sleep(1.0)  # anything still arriving would be a duplicate
        assert killed_at < MESSAGES * READINGS_PER_MESSAGE
        assert await rows() == MESSAGES * READINGS_PER_MESSAGE
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 20)

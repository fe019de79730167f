"""Alerts raised by the real worker from real broker traffic into PostgreSQL: a person of a
forbidden group entering a gateway's sector, dwelling too long, a gateway going silent and
coming back."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.config import Settings, load_settings
from securityvision.container import Container, build_container
from securityvision.domain.alerts import AlertRuleType, NewAlertRule
from securityvision.entrypoints.worker import IngestWorker
from tests.conftest import MqttAddress
from tests.support.databases import temporary_database
from tests.support.rtls import private_prefix, publish, query, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

TAG = "C0:FF:EE:00:00:01"
FORBIDDEN_GW = "AA:BB:CC:00:00:0A"
LOBBY_GW = "AA:BB:CC:00:00:0B"
SILENT_GW = "AA:BB:CC:00:00:0C"


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


def _settings(url: str, mqtt: MqttAddress, prefix: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": url,
            "RTLS_MQTT_HOST": mqtt.host,
            "RTLS_MQTT_PORT": str(mqtt.port),
            "RTLS_MQTT_TOPIC": f"{prefix}/#",
            "RTLS_MQTT_CLIENT_ID": f"test-{prefix.split('/', maxsplit=1)[0]}",
            "WORKER_METRICS_PORT": "0",
            # A tag unheard for 2 s is gone; a gateway silent for 1 s is offline (the worker
            # looks every 5 s).
            "POSITION_STALE_THRESHOLD_SECONDS": "1",
            "DEVICE_OFFLINE_THRESHOLD_SECONDS": "1",
        },
        env_file=None,
    )


async def _one(url: str, sql: str, params: list[Any]) -> int:
    rows = await query(url, sql, params)
    return int(rows[0][0])


async def _site(url: str) -> dict[str, int]:
    """A visitor in the group "Visitantes" wearing the tag; three gateways."""
    ids = {
        "group": await _one(
            url, "INSERT INTO person_groups (name) VALUES ('Visitantes') RETURNING id", []
        ),
        "person": await _one(
            url, "INSERT INTO people (full_name) VALUES ('Fulano de Tal') RETURNING id", []
        ),
    }
    await query(
        url,
        "INSERT INTO person_group_memberships (group_id, person_id) VALUES (%s, %s)"
        " RETURNING group_id",
        [ids["group"], ids["person"]],
    )
    ids["tag"] = await _one(
        url,
        "INSERT INTO tags (mac_address, person_id) VALUES (%s, %s) RETURNING id",
        [TAG, ids["person"]],
    )
    for name, mac in (("forbidden", FORBIDDEN_GW), ("lobby", LOBBY_GW), ("silent", SILENT_GW)):
        ids[name] = await _one(
            url,
            "INSERT INTO devices (name, type, code, mac_address) VALUES (%s, 'BLE_GATEWAY', %s,"
            " %s) RETURNING id",
            [f"Gateway {name}", "GW_" + mac.replace(":", ""), mac],
        )
    return ids


def _reading(prefix: str, gateway: str, rssi: int) -> tuple[str, bytes]:
    body = {"readings": [{"tag_mac": TAG, "rssi": rssi, "ts": datetime.now(UTC).isoformat()}]}
    return f"{prefix}/{gateway.replace(':', '')}/beacon", json.dumps(body).encode()


async def _events(url: str, event_type: str, device_id: int) -> list[tuple[Any, ...]]:
    return await query(
        url,
        "SELECT id, is_open, started_at, last_seen_at, ended_at, payload, message"
        " FROM alert_events WHERE event_type = %s AND device_id = %s ORDER BY id",
        [event_type, device_id],
    )


async def _stay(mqtt: MqttAddress, prefix: str, gateway: str, rssi: int, seconds: float) -> None:
    """The tag heard by ``gateway`` every 0.25 s for ``seconds``."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        await publish(mqtt.host, mqtt.port, [_reading(prefix, gateway, rssi)])
        await asyncio.sleep(0.25)


@pytest.fixture
async def worker(
    migrated: str, mqtt_address: MqttAddress
) -> AsyncIterator[tuple[str, str, Container]]:
    prefix = private_prefix()
    settings = _settings(migrated, mqtt_address, prefix)
    container = build_container(settings)
    storage = container.storage()
    await storage.open()
    metrics = WorkerMetrics()
    stop = asyncio.Event()
    task = asyncio.create_task(IngestWorker(settings, container, metrics).run(stop))

    async def subscribed() -> bool:
        return metrics.registry.get_sample_value("securityvision_broker_connected") == 1

    await wait_for(subscribed, what="the worker to subscribe")
    try:
        yield migrated, prefix, container
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await storage.close()


async def test_forbidden_sector_dwell_time_and_a_silent_gateway_raise_their_alerts(
    worker: tuple[str, str, Container], mqtt_address: MqttAddress
) -> None:
    url, prefix, container = worker
    ids = await _site(url)
    await container.create_alert_rule().execute(
        NewAlertRule(
            name="Visitantes fora do data center",
            rule_type=AlertRuleType.FORBIDDEN_SECTOR,
            group_id=ids["group"],
            device_id=ids["forbidden"],
        )
    )
    await container.create_alert_rule().execute(
        NewAlertRule(
            name="Permanência no lobby",
            rule_type=AlertRuleType.DWELL_TIME,
            device_id=ids["lobby"],
            max_dwell_seconds=2,
        )
    )

    # Enters the forbidden sector: one open event, updated while the tag stays.
    await _stay(mqtt_address, prefix, FORBIDDEN_GW, -60, 1.0)

    async def forbidden_open() -> bool:
        events = await _events(url, "FORBIDDEN_SECTOR", ids["forbidden"])
        return len(events) == 1 and bool(events[0][1])

    await wait_for(forbidden_open, what="the forbidden-sector alert to open")
    first_seen = (await _events(url, "FORBIDDEN_SECTOR", ids["forbidden"]))[0][3]
    await _stay(mqtt_address, prefix, FORBIDDEN_GW, -60, 1.0)

    async def updated() -> bool:
        return (await _events(url, "FORBIDDEN_SECTOR", ids["forbidden"]))[0][3] > first_seen

    await wait_for(updated, what="the open alert to follow the tag")

    # Leaves for the lobby (much stronger there) and stays beyond the lobby's dwell limit.
    await _stay(mqtt_address, prefix, LOBBY_GW, -40, 3.5)

    async def forbidden_closed() -> bool:
        events = await _events(url, "FORBIDDEN_SECTOR", ids["forbidden"])
        return len(events) == 1 and not events[0][1]

    await wait_for(forbidden_closed, what="the forbidden-sector alert to close")
    (_, _, started, last_seen, ended, payload, message) = (
        await _events(url, "FORBIDDEN_SECTOR", ids["forbidden"])
    )[0]
    assert payload["close_reason"] == "left"
    assert started <= last_seen <= ended
    assert message == "Entrada em setor proibido: Fulano de Tal no gateway 'Gateway forbidden'."

    async def dwell_open() -> bool:
        return len(await _events(url, "DWELL_TIME", ids["lobby"])) == 1

    await wait_for(dwell_open, what="the dwell-time alert")

    # Silent now: the stay ends (stale) and every gateway goes offline; one comes back.
    async def dwell_closed() -> bool:
        events = await _events(url, "DWELL_TIME", ids["lobby"])
        return len(events) == 1 and not events[0][1]

    await wait_for(dwell_closed, seconds=30, what="the dwell-time alert to close")
    dwell = (await _events(url, "DWELL_TIME", ids["lobby"]))[0]
    assert dwell[5]["close_reason"] == "stale"
    assert dwell[5]["duration_seconds"] >= 2
    assert dwell[5]["max_dwell_seconds"] == 2

    await publish(
        mqtt_address.host,
        mqtt_address.port,
        [(f"{prefix}/{SILENT_GW.replace(':', '')}/heartbeat", b'{"online": true}')],
    )

    async def offline_open() -> bool:
        events = await _events(url, "GATEWAY_OFFLINE", ids["silent"])
        return len(events) == 1 and bool(events[0][1])

    await wait_for(offline_open, seconds=30, what="the gateway to be reported offline")
    await publish(
        mqtt_address.host,
        mqtt_address.port,
        [(f"{prefix}/{SILENT_GW.replace(':', '')}/heartbeat", b'{"online": true}')],
    )

    async def back_online() -> bool:
        return len(await _events(url, "GATEWAY_ONLINE", ids["silent"])) == 1

    await wait_for(back_online, what="the gateway's return")
    offline = await _events(url, "GATEWAY_OFFLINE", ids["silent"])
    assert len(offline) == 1
    assert not offline[0][1]
    assert offline[0][5]["close_reason"] == "online"
    online = (await _events(url, "GATEWAY_ONLINE", ids["silent"]))[0]
    assert not online[1]
    assert online[6] == "Gateway 'Gateway silent' voltou a ficar online."

    # Exactly one alert of each kind for the tag; the stream heard them in the same commits.
    per_type = await query(
        url,
        "SELECT event_type, count(*) FROM alert_events WHERE tag_id = %s GROUP BY event_type",
        [ids["tag"]],
    )
    assert dict(per_type) == {"FORBIDDEN_SECTOR": 1, "DWELL_TIME": 1}

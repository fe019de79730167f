"""The MQTT worker against the real broker and PostgreSQL."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.config import Settings, load_settings
from securityvision.container import build_container
from securityvision.entrypoints.worker import IngestWorker
from tests.conftest import MqttAddress
from tests.support.databases import temporary_database
from tests.support.rtls import (
    SHARED_FIXTURES,
    private_prefix,
    publish,
    query,
    register_tags,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

GATEWAYS = SHARED_FIXTURES / "gateways"


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    """A migrated database of this test's own."""
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


def worker_settings(url: str, mqtt: MqttAddress, prefix: str, **extra: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": url,
            "RTLS_MQTT_HOST": mqtt.host,
            "RTLS_MQTT_PORT": str(mqtt.port),
            "RTLS_MQTT_TOPIC": f"{prefix}/#",
            "RTLS_MQTT_CLIENT_ID": f"test-{prefix.split('/', maxsplit=1)[0]}",
            "WORKER_METRICS_PORT": "0",
        }
        | extra,
        env_file=None,
    )


@pytest.fixture
async def running_worker(
    migrated: str, mqtt_address: MqttAddress
) -> AsyncIterator[tuple[str, str, WorkerMetrics]]:
    """A worker consuming a private topic prefix into a database of its own."""
    prefix = private_prefix()
    settings = worker_settings(migrated, mqtt_address, prefix)
    container = build_container(settings)
    storage = container.storage()
    await storage.open()
    metrics = WorkerMetrics()
    stop = asyncio.Event()
    task = asyncio.create_task(IngestWorker(settings, container, metrics).run(stop))
    await wait_for(lambda: subscribed(metrics), what="the worker to subscribe")
    try:
        yield migrated, prefix, metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await storage.close()


def fixture_message(name: str, prefix: str) -> tuple[str, bytes]:
    topic = (GATEWAYS / f"{name}.topic").read_text().strip()
    payload_file = next(
        p
        for p in GATEWAYS.glob(f"{name}.*")
        if p.suffix not in (".topic",) and not p.name.endswith(".expect.json")
    )
    return topic.replace("rtls/gateways", prefix, 1), payload_file.read_bytes()


async def subscribed(metrics: WorkerMetrics) -> bool:
    return metrics.registry.get_sample_value("securityvision_broker_connected") == 1


def processed(metrics: WorkerMetrics) -> float:
    value = metrics.registry.get_sample_value(
        "securityvision_mqtt_messages_total", {"stream": "rtls"}
    )
    return value or 0.0


async def count_rows(url: str) -> int:
    return int((await query(url, "SELECT count(*) FROM collection_logs"))[0][0])


async def test_every_fixture_format_lands_for_registered_tags_and_lists_the_unknown(
    running_worker: tuple[str, str, WorkerMetrics], mqtt_address: MqttAddress
) -> None:
    url, prefix, _ = running_worker
    expectations = {
        p.name.removesuffix(".expect.json"): json.loads(p.read_text())
        for p in GATEWAYS.glob("*.expect.json")
    }
    registered = {r["tag_mac"] for e in expectations.values() for r in e["readings"]}
    keep_unknown = "C4:A2:B7:E1:F0:39"  # one tag of the April Brother report stays unregistered
    await register_tags(url, sorted(registered - {keep_unknown}))
    names = [*sorted(expectations), "flat_detection", "espresense", "heartbeat", "status"]
    await publish(mqtt_address.host, mqtt_address.port, [fixture_message(n, prefix) for n in names])

    # Every expected reading but the one left unregistered, plus the ESPresense report (its
    # beacon is a registered tag); flat_detection's tag is unregistered and stays unknown.
    expected_rows = sum(len(e["readings"]) for e in expectations.values()) - 1 + 1

    async def all_stored() -> bool:
        return await count_rows(url) >= expected_rows

    await wait_for(all_stored, what=f"{expected_rows} readings")
    await asyncio.sleep(0.3)
    assert await count_rows(url) == expected_rows

    for name, expected in expectations.items():
        rows = await query(
            url,
            "SELECT t.mac_address, l.rssi, l.created_at, d.mac_address FROM collection_logs l"
            " JOIN tags t ON t.id = l.tag_id JOIN devices d ON d.id = l.device_id"
            " WHERE d.mac_address = %s ORDER BY t.mac_address",
            [expected["gateway_mac"]],
        )
        stored = {(mac, rssi) for mac, rssi, _, _ in rows}
        for reading in expected["readings"]:
            if reading["tag_mac"] == keep_unknown:
                assert (reading["tag_mac"], reading["rssi"]) not in stored
                continue
            assert (reading["tag_mac"], reading["rssi"]) in stored, (name, reading)
            if reading["ts"] is not None:
                ts = datetime.fromisoformat(reading["ts"])
                assert any(
                    mac == reading["tag_mac"] and created == ts for mac, _, created, _ in rows
                ), (name, reading)

    unknown = await query(url, "SELECT mac_address FROM unknown_tags ORDER BY mac_address")
    assert [row[0] for row in unknown] == ["11:22:33:44:55:66", keep_unknown]

    gateways = await query(
        url, "SELECT name, code, mac_address, last_seen_at IS NOT NULL FROM devices ORDER BY id"
    )
    assert {row[0] for row in gateways} >= {"Gateway 12:34:56:78:9A:BC", "Gateway ESP32-LOBBY"}
    assert "GW_123456789ABC" in {row[1] for row in gateways}
    assert all(row[3] for row in gateways)


async def test_a_reading_carried_twice_is_stored_once(
    running_worker: tuple[str, str, WorkerMetrics], mqtt_address: MqttAddress
) -> None:
    url, prefix, metrics = running_worker
    await register_tags(url, ["AA:BB:CC:DD:EE:01"])
    ts = datetime.now(UTC).replace(microsecond=0).isoformat()
    body = {"readings": [{"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": ts}]}
    message = (f"{prefix}/AC233FC07DA5/beacon", json.dumps(body).encode())
    flat = {
        "gateway_mac": "AC:23:3F:C0:7D:A5",
        "tag_mac": "aabbccddee01",
        "rssi": -60,
        "timestamp": ts,
    }
    await publish(
        mqtt_address.host,
        mqtt_address.port,
        [message, message, (f"{prefix}/AC233FC07DA5/detection", json.dumps(flat).encode())],
    )

    async def three_processed() -> bool:
        return processed(metrics) >= 3

    await wait_for(three_processed, what="three messages")
    assert await count_rows(url) == 1


async def test_bad_input_is_rejected_per_reading_and_counted_without_stopping_anything(
    running_worker: tuple[str, str, WorkerMetrics], mqtt_address: MqttAddress
) -> None:
    url, prefix, metrics = running_worker
    await register_tags(url, ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"])
    now = datetime.now(UTC)
    future = (now + timedelta(minutes=10)).isoformat()
    good = {
        "readings": [
            {"tag_mac": "AA:BB:CC:DD:EE:01", "rssi": -60, "ts": now.isoformat()},
            {"tag_mac": "not-a-mac", "rssi": -60},
            {"tag_mac": "AA:BB:CC:DD:EE:02", "rssi": 999},
            {"tag_mac": "AA:BB:CC:DD:EE:02", "rssi": -70, "ts": future},
            {"tag_mac": "AA:BB:CC:DD:EE:02", "rssi": -71},
        ]
    }
    await publish(
        mqtt_address.host,
        mqtt_address.port,
        [
            (f"{prefix}/AC233FC07DA5", b"\xff\x00 not json"),
            (f"{prefix}/a/b/c/d/e/f/g", b"{}"),
            (f"{prefix}/AC233FC07DA5", b"x" * (300 * 1024)),
            (f"{prefix}/AC233FC07DA5", json.dumps(good).encode()),
        ],
    )

    async def stored_two() -> bool:
        return await count_rows(url) >= 2

    await wait_for(stored_two, what="the two good readings")

    def rejections() -> dict[str, float]:
        return {
            sample.labels["reason"]: sample.value
            for metric in metrics.registry.collect()
            if metric.name == "securityvision_readings_rejected"
            for sample in metric.samples
            if sample.name.endswith("_total")
        }

    async def counted() -> bool:
        # The worker counts a batch just after its commit: the rows can be seen first.
        return len(rejections()) >= 6

    await wait_for(counted, what="the rejections counted")
    rejected = rejections()
    assert rejected.get("future_timestamp") == 1
    assert rejected.get("invalid_mac") == 1
    assert rejected.get("invalid_rssi") == 1
    assert rejected.get("too_large") == 1
    assert rejected.get("unknown_topic") == 1
    assert rejected.get("undecodable") == 1


async def test_a_gateway_silent_past_the_threshold_goes_offline_and_back_online(
    migrated: str, mqtt_address: MqttAddress
) -> None:
    prefix = private_prefix()
    settings = worker_settings(migrated, mqtt_address, prefix, DEVICE_OFFLINE_THRESHOLD_SECONDS="1")
    container = build_container(settings)
    storage = container.storage()
    await storage.open()
    metrics = WorkerMetrics()
    stop = asyncio.Event()
    task = asyncio.create_task(IngestWorker(settings, container, metrics).run(stop))
    heartbeat = (f"{prefix}/AABBCCDDEE01/heartbeat", b'{"online": true}')

    async def events() -> list[bool]:
        rows = await query(migrated, "SELECT online FROM device_status_events ORDER BY id")
        return [bool(row[0]) for row in rows]

    try:
        await wait_for(lambda: subscribed(metrics), what="the worker to subscribe")
        await publish(mqtt_address.host, mqtt_address.port, [heartbeat])

        async def online_once() -> bool:
            return await events() == [True]

        await wait_for(online_once, what="the gateway to come online")
        await asyncio.sleep(1.5)
        assert await container.detect_silent_gateways().execute()
        assert await container.detect_silent_gateways().execute() == []
        assert await events() == [True, False]
        await publish(mqtt_address.host, mqtt_address.port, [heartbeat])

        async def back_online() -> bool:
            return await events() == [True, False, True]

        await wait_for(back_online, what="the gateway to come back online")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await storage.close()


async def test_the_worker_refreshes_the_presence_totals_the_overview_reads(
    migrated: str, mqtt_address: MqttAddress
) -> None:
    """Every PRESENCE_TOTALS_INTERVAL_SECONDS, hours of sessions that ended are materialized
    (docs/presence.md), here a session of two days ago."""
    await query(
        migrated,
        "INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at,"
        " samples_count, rssi_sum, rssi_max)"
        " VALUES (1, 1, (now() - interval '2 days')::date, now() - interval '2 days',"
        "   now() - interval '2 days' + interval '30 minutes', 2, -120, -60) RETURNING id",
    )
    prefix = private_prefix()
    settings = worker_settings(migrated, mqtt_address, prefix, PRESENCE_TOTALS_INTERVAL_SECONDS="1")
    container = build_container(settings)
    storage = container.storage()
    await storage.open()
    stop = asyncio.Event()
    task = asyncio.create_task(IngestWorker(settings, container, WorkerMetrics()).run(stop))

    async def materialized() -> bool:
        rows = await query(
            migrated, "SELECT sum(sessions_started) FROM presence_hour_totals WHERE kind = 'tag'"
        )
        return rows[0][0] == 1

    try:
        await wait_for(materialized, what="the presence totals to be refreshed")
        assert await query(migrated, "SELECT count(*) FROM presence_totals_dirty") == [(0,)]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await storage.close()

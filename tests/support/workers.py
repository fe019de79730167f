"""``securityvision worker`` as a subprocess, and the checks that ingestion was exact: every
acknowledged reading and camera event stored once, sessions as a from-scratch computation."""

import asyncio
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

from securityvision.application.presence import utc_day
from securityvision.domain.presence import PresenceSession, Sighting, sessionize
from tests.support.load import CAMERA, TAGS, TIMELESS_TAGS, SteadyLoad
from tests.support.rtls import query, register_tags

SESSION_GAP = timedelta(seconds=15)  # PRESENCE_SESSION_GAP_SECONDS' default


def worker_environment(
    database_url: str,
    mqtt_port: int,
    *,
    prefix: str,
    camera_base: str,
    client_id: str,
    media_root: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RTLS_", "DATABASE_URL", "MQTT_", "CAMBUS_", "PRESENCE_"))
    }
    return (
        inherited
        | {
            "DATABASE_URL": database_url,
            "RTLS_MQTT_HOST": "127.0.0.1",
            "RTLS_MQTT_PORT": str(mqtt_port),
            "RTLS_MQTT_TOPIC": f"{prefix}/#",
            "RTLS_MQTT_CLIENT_ID": client_id,
            "CAMBUS_MQTT_BASE_TOPIC": camera_base,
            "WORKER_METRICS_PORT": "0",
            "MEDIA_ROOT": str(media_root),
            "LOG_LEVEL": "INFO",
        }
        | (extra or {})
    )


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "securityvision",
            "worker",
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )


async def stop_worker(worker: asyncio.subprocess.Process, seconds: float = 30) -> int:
    """SIGTERM, and the exit code (SIGKILL after ``seconds``)."""
    if worker.returncode is None:
        worker.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(worker.wait(), seconds)
        except TimeoutError:
            worker.kill()
            await worker.wait()
    assert worker.returncode is not None
    return worker.returncode


async def register_world(database_url: str) -> None:
    """The load's tags, and its camera (as ``POST /cameras`` would store it)."""
    await register_tags(database_url, TAGS + TIMELESS_TAGS)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO devices (name, code, type) VALUES ('Chaos camera', %s, 'CAMERA')",
            [CAMERA],
        )


async def stored_readings(database_url: str) -> int:
    return int((await query(database_url, "SELECT count(*) FROM collection_logs"))[0][0])


async def stored_events(database_url: str) -> int:
    return int((await query(database_url, "SELECT count(*) FROM device_events"))[0][0])


@dataclass
class Verdict:
    sent_readings: int
    stored_readings: int
    missing_readings: int
    extra_readings: int
    # What the extra readings are: timestamped ones the publisher never saw acknowledged,
    # the same identity stored twice (impossible by key), readings without a timestamp.
    extra_unacknowledged: int
    extra_timeless: int
    sent_events: int
    stored_events: int
    missing_events: int
    sessions: int
    sessions_match: bool

    @property
    def exact(self) -> bool:
        return (
            self.missing_readings == 0
            and self.extra_readings == 0
            and self.missing_events == 0
            and self.stored_events == self.sent_events
            and self.sessions_match
        )


async def verify(database_url: str, load: SteadyLoad) -> Verdict:
    """Compare what the broker acknowledged with what PostgreSQL holds."""
    sent = load.acknowledged()
    expected = {reading for s in sent for reading in s.readings}
    timeless_expected = sum(s.timeless for s in sent)
    events_expected = {s.event_id for s in sent if s.event_id}
    rows = await query(
        database_url,
        "SELECT d.mac_address, t.mac_address, c.created_at, c.tag_id, c.device_id, c.rssi"
        " FROM collection_logs c JOIN tags t ON t.id = c.tag_id"
        " JOIN devices d ON d.id = c.device_id",
    )
    timeless = set(TIMELESS_TAGS)
    stored = Counter((gw, tag, ts) for gw, tag, ts, *_ in rows if tag not in timeless)
    timeless_stored = sum(1 for row in rows if row[1] in timeless)
    events = await query(
        database_url,
        "SELECT e.event_id FROM device_events e JOIN devices d ON d.id = e.device_id"
        " WHERE d.code = %s",
        [CAMERA],
    )
    stored_events = Counter(row[0] for row in events)
    # Readings the broker took but whose PUBACK never reached the publisher may be stored
    # although not counted as sent: allowed only for timestamped readings the load did make.
    extra = sum(1 for key in stored if key not in expected)
    reference = sessionize(
        [Sighting(tag_id=r[3], device_id=r[4], ts=r[2], rssi=r[5]) for r in rows],
        SESSION_GAP,
        utc_day,
    )
    sessions = await query(
        database_url,
        "SELECT tag_id, device_id, day, started_at, ended_at, samples_count, rssi_sum,"
        " rssi_max FROM presence_sessions ORDER BY tag_id, device_id, started_at",
    )
    return Verdict(
        sent_readings=len(expected) + timeless_expected,
        stored_readings=len(rows),
        missing_readings=len(expected - stored.keys())
        + max(0, timeless_expected - timeless_stored),
        extra_readings=extra
        + sum(n - 1 for n in stored.values())
        + max(0, timeless_stored - timeless_expected),
        extra_unacknowledged=extra,
        extra_timeless=max(0, timeless_stored - timeless_expected),
        sent_events=len(events_expected),
        stored_events=sum(stored_events.values()),
        missing_events=len(events_expected - stored_events.keys()),
        sessions=len(sessions),
        sessions_match=[tuple(row) for row in sessions] == sorted(map(_columns, reference)),
    )


def _columns(session: PresenceSession) -> tuple[object, ...]:
    return (
        session.tag_id,
        session.device_id,
        session.day,
        session.started_at,
        session.ended_at,
        session.samples_count,
        session.rssi_sum,
        session.rssi_max,
    )

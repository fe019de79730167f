"""``securityvision serve --workers 2``: several API processes behind one port keep the live
event stream (PostgreSQL LISTEN/NOTIFY) and the login throttle (PostgreSQL) correct, and
SIGTERM stops them cleanly, open event streams included."""

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.application.identity import MAX_FAILURES_PER_ACCOUNT
from securityvision.domain.events import LiveEvent
from tests.support.databases import temporary_database
from tests.support.services import free_port

pytestmark = pytest.mark.postgres

ADMIN = "admin@scale.example"
PASSWORD = "Correct-horse-battery-9"
STREAMS = 8


class Api:
    def __init__(self, base: str, database_url: str, process: asyncio.subprocess.Process) -> None:
        self.base = base
        self.database_url = database_url
        self.process = process


@pytest.fixture(scope="module")
async def api(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    """One pair of processes for the module (they take a while to start); the SIGTERM test
    comes last."""
    tmp_path = tmp_path_factory.mktemp("serve")
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "RTLS_", "SUPERADMIN_", "SVPOS_", "JWT_"))
        } | {
            "DATABASE_URL": url,
            "SVPOS_SECRET_KEY": secrets.token_urlsafe(48),
            "SUPERADMIN_EMAIL": ADMIN,
            "SUPERADMIN_PASSWORD": PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
            "MEDIA_ROOT": str(tmp_path / "media"),
        }
        log = tmp_path / "serve.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "securityvision",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            async with asyncio.timeout(60):
                while not await _healthy(base):
                    assert process.returncode is None, log.read_text()
                    await asyncio.sleep(0.2)
                # Both processes log their start; wait for the second too.
                while log.read_text().count("Application startup complete") < 2:
                    await asyncio.sleep(0.2)
            yield Api(base, url, process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _healthy(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            return (await client.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


async def _login(base: str, password: str, email: str = ADMIN) -> httpx.Response:
    # A new client, so a new connection: it may land on either process.
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def _stream(base: str, token: str, ready: asyncio.Event, got: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, read=None)) as client,
        client.stream("GET", "/api/v1/events/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith(":"):
                ready.set()
            elif line.startswith("event:"):
                got.append(line.removeprefix("event:").strip())


async def test_every_stream_on_either_process_gets_events_committed_anywhere(api: Api) -> None:
    login = await _login(api.base, PASSWORD)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    readies = [asyncio.Event() for _ in range(STREAMS)]
    received: list[list[str]] = [[] for _ in range(STREAMS)]
    tasks = [
        asyncio.create_task(_stream(api.base, token, ready, got))
        for ready, got in zip(readies, received, strict=True)
    ]
    storage = PostgresStorage(api.database_url)
    await storage.open()
    try:
        async with asyncio.timeout(20):
            await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(0.5)  # every process LISTENs
        # Committed by a process that is neither API process (as the ingest worker does).
        async with storage.unit_of_work() as uow:
            await uow.events.publish(
                LiveEvent(event="device.status", data={"id": 7, "is_online": False})
            )
            await uow.commit()
        async with asyncio.timeout(20):
            while not all(got for got in received):
                await asyncio.sleep(0.1)
        assert received == [["device.status"]] * STREAMS
    finally:
        await storage.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task


async def test_the_login_throttle_holds_across_processes(api: Api) -> None:
    target = "guessed@scale.example"  # failures count per account, known or not
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        failed = await _login(api.base, "wrong-password", target)
        assert failed.json()["code"] == "invalid_credentials", failed.text
    for _ in range(4):  # whichever process answers
        refused = await _login(api.base, "wrong-password", target)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too_many_attempts"
        assert int(refused.headers["retry-after"]) > 0
    assert (await _login(api.base, PASSWORD)).status_code == 200  # per account


async def test_sigterm_stops_every_process_cleanly_with_streams_open(api: Api) -> None:
    token = (await _login(api.base, PASSWORD)).json()["access_token"]
    ready = asyncio.Event()
    stream = asyncio.create_task(_stream(api.base, token, ready, []))
    try:
        async with asyncio.timeout(20):
            await ready.wait()
        api.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await api.process.wait() == 0
    finally:
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await stream

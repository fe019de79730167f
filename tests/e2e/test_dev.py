"""`securityvision dev` as a newcomer runs it: nothing configured, everything embedded.

The processes run beside the rest of a loaded machine, so every wait is for a condition
(a line printed, the API answering, the simulated traffic stored), bounded generously, and
the processes' output is read all along.
"""

import asyncio
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import pytest

from securityvision.adapters.embedded import free_port
from tests.support.rtls import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

# Anything a developer or CI exported must not leak into the newcomer's run.
_CONFIGURATION = ("DATABASE_URL", "RTLS_", "SUPERADMIN_", "SVPOS_", "JWT_", "CHATWOOT_")

# Bounds reached only when something is wrong: on a loaded machine the embedded PostgreSQL's
# first start, the simulated traffic and the shutdown all take longer than on an idle one.
STARTUP_SECONDS = 240.0
WAIT_SECONDS = 120.0
STOP_SECONDS = 120.0


class PortTaken(Exception):
    """A port chosen free was taken by someone else before the server could listen on it."""


class ServerProcess:
    """A ``securityvision`` server command in a subprocess, its output read as it comes.

    Reading it all along matters: a pipe nobody reads fills up (64 KiB, a few hundred access
    log lines) and the process then blocks on its next log line, answering nothing.
    """

    def __init__(
        self, process: asyncio.subprocess.Process, lines: list[str], stop_signal: signal.Signals
    ) -> None:
        assert process.stdout is not None
        self.process = process
        self.lines = lines
        self.status: int | None = None
        self._stop_signal = stop_signal
        self._reader = asyncio.create_task(self._read(process.stdout))

    @classmethod
    async def start(
        cls,
        arguments: list[str],
        cwd: Path,
        env: dict[str, str],
        lines: list[str],
        stop_signal: signal.Signals = signal.SIGINT,
    ) -> Self:
        """Run ``securityvision <arguments>``; what it prints is added to ``lines``. Used as
        an ``async with`` block, it is stopped with ``stop_signal`` (Ctrl-C by default) at
        the end, and a failure inside shows what it printed."""
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "securityvision", *arguments),
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process, lines, stop_signal)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.status = await self.stop()
        if exc is not None and not isinstance(exc, PortTaken):
            exc.add_note(f"--- what the server printed:\n{self.output}")

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def _check_running(self, waiting_for: str) -> None:
        """``PortTaken`` when the process ended because a port was in use, AssertionError
        when it ended otherwise."""
        if not self._reader.done():
            return
        await self.process.wait()
        if "already in use" in self.output:
            raise PortTaken(self.output)
        raise AssertionError(f"the server exited ({self.process.returncode}) before {waiting_for}")

    async def wait_for_line(self, marker: str) -> None:
        """Until a line says ``marker``."""

        async def printed() -> bool:
            if any(marker in line for line in self.lines):
                return True
            await self._check_running(repr(marker))
            return False

        await wait_for(printed, seconds=STARTUP_SECONDS, what=repr(marker))

    async def wait_until_serving(self, client: httpx.AsyncClient) -> None:
        """Until the API answers: uvicorn says its application started before it listens."""

        async def serving() -> bool:
            await self._check_running("answering")
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(serving, seconds=WAIT_SECONDS, what="the API to answer")

    async def stop(self) -> int:
        """The stop signal, then the exit status once the process has stopped and everything
        it printed has been read."""
        if self.process.returncode is None:
            self.process.send_signal(self._stop_signal)
        try:
            async with asyncio.timeout(STOP_SECONDS):
                status = await self.process.wait()
                await self._reader
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"the server did not stop within {STOP_SECONDS} s:\n{self.output}"
            ) from None
        return status


async def _arrives(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    what: str,
    ready: Callable[[Any], bool] = bool,
) -> Any:
    """The JSON answer of ``path`` once it is ``ready`` (the simulated traffic arrives at its
    own pace)."""
    found: list[Any] = []

    async def check() -> bool:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        found[:] = [response.json()]
        return ready(found[0])

    await wait_for(check, seconds=WAIT_SECONDS, what=what)
    return found[0]


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Where ``dev`` keeps its embedded PostgreSQL: outside pytest's temporary directories,
    which any pytest run starting meanwhile closes to the server's ``pgserver`` user again
    (tests/conftest.py, ``postgres_server_url``)."""
    root = Path(tempfile.mkdtemp(prefix="securityvision-test-dev-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_dev_simulate_starts_everything_prints_the_superadmin_once_and_stops_cleanly(
    workdir: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIGURATION)}

    async def run_once() -> str:
        """One ``dev --simulate`` from its start to Ctrl-C; all it printed. Its ports are
        chosen free, and chosen again should someone take one before dev listens on it."""
        lines: list[str] = []
        for _ in range(3):
            api_port = free_port()
            dev = await ServerProcess.start(
                ["dev", "--simulate", "--port", str(api_port)],
                workdir,
                env | {"RTLS_MQTT_PORT": str(free_port())},
                lines,
            )
            try:
                async with dev:
                    await dev.wait_for_line("Application startup complete")
                    await exercise(dev, f"http://127.0.0.1:{api_port}")
            except PortTaken:
                continue
            assert dev.status == 0, dev.output
            return dev.output
        raise AssertionError("dev lost its ports three times:\n" + "".join(lines))

    async def exercise(dev: ServerProcess, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await dev.wait_until_serving(client)
            assert (await client.get("/api/v1/users/")).status_code == 401
            assert (await client.get("/docs")).status_code == 200
            assert (await client.get("/openapi.json")).status_code == 200

            async def healthy() -> bool:
                health = (await client.get("/health")).json()
                return bool(health["database"]["status"] == health["broker"]["status"] == "up")

            # The embedded broker shares the process with everything else: under load its
            # first probes may time out before it answers.
            await wait_for(healthy, seconds=WAIT_SECONDS, what="the database and broker up")
            password = next(
                (
                    line.split(": ", 1)[1].strip()
                    for line in dev.lines
                    if "Superadmin password" in line
                ),
                None,
            )
            if password is None:
                return
            login = await client.post(
                "/api/v1/auth/login",
                json={"email": "admin@securityvision.local", "password": password},
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = await client.get("/api/v1/auth/me", headers=headers)
            assert me.json()["role"] == "SUPERADMIN"
            # --simulate: readings of the simulated people arrive through the worker.
            await _arrives(client, "/api/v1/collection-logs/?limit=1", headers, "a reading")
            people = (await client.get("/api/v1/people/", headers=headers)).json()
            assert any(p["full_name"].startswith("Simulated person") for p in people)
            # ... and they are on the demo floor plan's map.
            placed = await _arrives(
                client,
                "/api/v1/positions/current?max_age_seconds=0",
                headers,
                "a simulated person on the map",
            )
            assert placed[0]["building_name"] == "Demo building"
            # The simulated cameras' faces open incidents, with their pictures (each camera
            # captures a face every 15 s or so, at random).
            incidents = await _arrives(client, "/api/v1/incidents/", headers, "a camera incident")
            assert incidents[0]["kind"] == "CAMERA_FACE"
            await _arrives(
                client,
                f"/api/v1/incidents/{incidents[0]['id']}/messages",
                headers,
                "the incident's picture",
                ready=lambda timeline: any(m["message_type"] == "MEDIA" for m in timeline),
            )
            cameras = (await client.get("/api/v1/devices/cameras/", headers=headers)).json()
            assert {c["code"] for c in cameras} == {"SIM-CAM-01", "SIM-CAM-02"}

    first = await run_once()
    assert "Superadmin e-mail: admin@securityvision.local" in first
    assert first.count("Superadmin password: ") == 1
    assert "Traceback" not in first
    assert (workdir / ".securityvision" / "pgdata").is_dir()

    second = await run_once()
    assert "Superadmin password" not in second
    assert "Traceback" not in second


async def test_dev_says_so_in_one_line_when_the_broker_port_is_taken(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIGURATION)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["RTLS_MQTT_PORT"] = str(taken.getsockname()[1])
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "securityvision",
            "dev",
            "--port",
            str(free_port()),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), STARTUP_SECONDS)
    assert process.returncode == 1
    lines = output.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: RTLS_MQTT_PORT: 127.0.0.1:")
    assert "already in use" in lines[0]


async def test_serve_runs_the_uvicorn_app_from_the_environment(
    tmp_path: Path, database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIGURATION)}
    env |= {
        "DATABASE_URL": database_url,
        "SVPOS_SECRET_KEY": secrets.token_urlsafe(48),
        "RTLS_MQTT_ENABLED": "false",
    }
    lines: list[str] = []
    for _ in range(3):
        port = free_port()
        serve = await ServerProcess.start(
            ["serve", "--port", str(port), "--workers", "2"],
            tmp_path,
            env,
            lines,
            stop_signal=signal.SIGTERM,
        )
        try:
            async with (
                serve,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            ):
                await serve.wait_for_line("Application startup complete")
                await serve.wait_until_serving(client)

                async def database_up() -> bool:
                    health = (await client.get("/health")).json()
                    return bool(health["database"]["status"] == "up")

                await wait_for(database_up, seconds=WAIT_SECONDS, what="the database up")
                assert (await client.get("/api/v1/auth/me")).status_code == 401
        except PortTaken:
            continue
        return
    raise AssertionError("serve lost its port three times:\n" + "".join(lines))

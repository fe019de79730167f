"""`securityvision dev` as a newcomer runs it: nothing configured, everything embedded."""

import asyncio
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from securityvision.adapters.embedded import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

# Anything a developer or CI exported must not leak into the newcomer's run.
_CONFIGURATION = ("DATABASE_URL", "RTLS_", "SUPERADMIN_", "SVPOS_", "JWT_", "CHATWOOT_")


async def _read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("dev exited early:\n" + "".join(seen))
        seen.append(line)
        if marker in line:
            return


async def test_dev_simulate_starts_everything_prints_the_superadmin_once_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIGURATION)}
    api_port, mqtt_port = free_port(), free_port()
    env["RTLS_MQTT_PORT"] = str(mqtt_port)
    command = [sys.executable, "-m", "securityvision", "dev", "--simulate", "--port", str(api_port)]

    async def run_once() -> list[str]:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        seen: list[str] = []
        try:
            await asyncio.wait_for(
                _read_until(process.stdout, "Application startup complete", seen), 120
            )
            await exercise(seen)
        finally:
            process.send_signal(signal.SIGINT)
            rest = await asyncio.wait_for(process.stdout.read(), 60)
            seen.append(rest.decode())
            assert await process.wait() == 0, "".join(seen)
        return seen

    async def exercise(seen: list[str]) -> None:
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.get("/api/v1/users/")).status_code == 401
            assert (await client.get("/docs")).status_code == 200
            assert (await client.get("/openapi.json")).status_code == 200
            health = (await client.get("/health")).json()
            assert health["database"]["status"] == "up"
            assert health["broker"]["status"] == "up"
            password = next(
                (line.split(": ", 1)[1].strip() for line in seen if "Superadmin password" in line),
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
            for _ in range(100):
                logs = await client.get("/api/v1/collection-logs/?limit=1", headers=headers)
                if logs.json():
                    break
                await asyncio.sleep(0.1)
            assert logs.json(), "no simulated reading was stored"
            people = (await client.get("/api/v1/people/", headers=headers)).json()
            assert any(p["full_name"].startswith("Simulated person") for p in people)
            # ... and they are on the demo floor plan's map.
            for _ in range(100):
                placed = await client.get(
                    "/api/v1/positions/current?max_age_seconds=0", headers=headers
                )
                if placed.json():
                    break
                await asyncio.sleep(0.1)
            assert placed.json(), "no simulated person on the map"
            assert placed.json()[0]["building_name"] == "Demo building"
            # The simulated cameras' faces open incidents, with their pictures.
            for _ in range(200):
                incidents = await client.get("/api/v1/incidents/", headers=headers)
                if incidents.json():
                    break
                await asyncio.sleep(0.1)
            assert incidents.json(), "no camera incident"
            assert incidents.json()[0]["kind"] == "CAMERA_FACE"
            first = incidents.json()[0]["id"]
            for _ in range(50):
                timeline = await client.get(f"/api/v1/incidents/{first}/messages", headers=headers)
                if any(m["message_type"] == "MEDIA" for m in timeline.json()):
                    break
                await asyncio.sleep(0.1)
            assert any(m["message_type"] == "MEDIA" for m in timeline.json()), timeline.text
            cameras = (await client.get("/api/v1/devices/cameras/", headers=headers)).json()
            assert {c["code"] for c in cameras} == {"SIM-CAM-01", "SIM-CAM-02"}

    first = "".join(await run_once())
    assert "Superadmin e-mail: admin@securityvision.local" in first
    assert first.count("Superadmin password: ") == 1
    assert "Traceback" not in first
    assert (tmp_path / ".securityvision" / "pgdata").is_dir()

    second = "".join(await run_once())
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
        output, _ = await asyncio.wait_for(process.communicate(), 60)
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
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "securityvision",
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(
            _read_until(process.stdout, "Application startup complete", seen), 60
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(20):
                health = await client.get("/health")
                if health.status_code == 200:
                    break
                await asyncio.sleep(0.2)
            assert health.json()["database"]["status"] == "up"
            assert (await client.get("/api/v1/auth/me")).status_code == 401
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)

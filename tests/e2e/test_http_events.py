"""The live event stream over HTTP."""

import asyncio

import httpx
import pytest
import uvicorn

from securityvision.adapters.embedded import free_port
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.events import LiveEvent
from securityvision.entrypoints.http import create_app
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET
from tests.support.http import serving
from tests.support.postgres import truncate_all

pytestmark = pytest.mark.postgres


async def test_the_stream_needs_a_token_and_carries_committed_events(
    migrated_database_url: str,
) -> None:
    await truncate_all(migrated_database_url)
    settings = load_settings(
        {
            "DATABASE_URL": migrated_database_url,
            "SVPOS_SECRET_KEY": TEST_SECRET,
            "SUPERADMIN_EMAIL": ROOT_EMAIL,
            "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
        },
        env_file=None,
    )
    container = build_container(settings)
    port = free_port()
    # A real server: the test client buffers whole responses, and this one never ends.
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_config=None)
    async with (
        serving(config) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        received = await exchange(client, container)
    assert received == ["event: device.status", 'data: {"id":7,"is_online":false}']


async def exchange(client: httpx.AsyncClient, container: Container) -> list[str]:
    assert (await client.get("/api/v1/events/stream")).status_code == 401
    token = await client.post(
        "/api/v1/auth/login", json={"email": ROOT_EMAIL, "password": ROOT_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    async with client.stream(
        "GET", "/api/v1/events/stream?types=device.status", headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        async with asyncio.timeout(10):
            assert (await anext(lines)).startswith(": connected")
            async with container.storage().unit_of_work() as uow:
                await uow.events.publish(
                    LiveEvent(event="position.changed", data={"id": 9}),
                    LiveEvent(event="device.status", data={"id": 7, "is_online": False}),
                )
                await uow.commit()
            received = []
            async for line in lines:
                if line.startswith(("event:", "data:")):
                    received.append(line)
                if line.startswith("data:"):
                    break
    return received

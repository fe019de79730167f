"""The HTTP app end to end, over a real PostgreSQL."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.config import load_settings
from securityvision.container import build_container
from securityvision.entrypoints.http import create_app
from tests.support.postgres import truncate_all

ROOT_EMAIL = "root@example.com"
ROOT_PASSWORD = "root password 123"
TEST_SECRET = "test-secret-" + "x" * 40

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncTestClient]]


@pytest.fixture(scope="session")
async def migrated_database_url(database_url: str) -> str:
    await apply_migrations(database_url)
    return database_url


@pytest.fixture
async def api_client(migrated_database_url: str) -> ClientFactory:
    """Build an app from an environment (plus a test database and secret) and serve it."""
    await truncate_all(migrated_database_url)

    @asynccontextmanager
    async def make(**env: str) -> AsyncIterator[AsyncTestClient]:
        environ = {
            "DATABASE_URL": migrated_database_url,
            "SVPOS_SECRET_KEY": TEST_SECRET,
            "SUPERADMIN_EMAIL": ROOT_EMAIL,
            "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
        } | env
        settings = load_settings(environ, env_file=None)
        app = create_app(build_container(settings))
        async with AsyncTestClient(app, raise_server_exceptions=False) as client:
            yield client

    return make


@pytest.fixture
async def client(api_client: ClientFactory) -> AsyncIterator[AsyncTestClient]:
    async with api_client() as c:
        yield c


async def login(client: AsyncTestClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def root_headers(client: AsyncTestClient) -> dict[str, str]:
    return await login(client, ROOT_EMAIL, ROOT_PASSWORD)

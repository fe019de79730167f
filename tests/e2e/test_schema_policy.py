"""RUN_MIGRATIONS: apply on start, or refuse a schema that is behind."""

import pytest
from litestar.testing import AsyncTestClient

from securityvision.config import Settings, load_settings
from securityvision.container import build_container
from securityvision.domain.errors import StorageError
from securityvision.entrypoints.http import create_app
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres


def settings_for(url: str, run_migrations: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": url,
            "SVPOS_SECRET_KEY": "s" * 48,
            "RUN_MIGRATIONS": run_migrations,
            "RTLS_MQTT_ENABLED": "false",
        },
        env_file=None,
    )


async def test_the_api_refuses_to_start_on_a_schema_that_is_behind(
    postgres_server_url: str,
) -> None:
    with temporary_database(postgres_server_url) as url:
        app = create_app(build_container(settings_for(url, "0")))
        expected = pytest.RaisesExc(StorageError, match=r"schema is behind \(\d+ pending: 0001_")
        with pytest.RaisesGroup(expected, flatten_subgroups=True):
            async with AsyncTestClient(app):
                pass


async def test_the_api_migrates_on_start_by_default(postgres_server_url: str) -> None:
    with temporary_database(postgres_server_url) as url:
        app = create_app(build_container(settings_for(url, "1")))
        async with AsyncTestClient(app) as client:
            assert (await client.get("/health")).json()["database"]["status"] == "up"
        again = create_app(build_container(settings_for(url, "0")))
        async with AsyncTestClient(again) as client:
            assert (await client.get("/health")).status_code == 200

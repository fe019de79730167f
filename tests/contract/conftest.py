"""Every contract test runs once on the in-memory adapters and once on PostgreSQL."""

from collections.abc import AsyncIterator

import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.application.ports import Storage
from tests.support.clock import FakeClock
from tests.support.postgres import truncate_all


@pytest.fixture(scope="session")
async def migrated_database_url(database_url: str) -> str:
    await apply_migrations(database_url)
    return database_url


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def storage(
    request: pytest.FixtureRequest, migrated_database_url: str
) -> AsyncIterator[Storage]:
    adapter: Storage
    if request.param == "memory":
        adapter = InMemoryStorage(FakeClock())
    else:
        await truncate_all(migrated_database_url)
        adapter = PostgresStorage(migrated_database_url, min_size=1, max_size=4)
    await adapter.open()
    yield adapter
    await adapter.close()

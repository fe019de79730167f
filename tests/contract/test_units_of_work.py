"""Units of work: read-only ones read what is committed and cannot commit, on every adapter;
on PostgreSQL they open no transaction and leave their connection as they found it."""

import psycopg
import pytest

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.application.ports import Storage
from tests.contract.test_users import new_user


async def test_a_read_only_unit_of_work_reads_what_is_committed(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        added = await uow.users.add(new_user("ana@example.com"))
        await uow.commit()
    async with storage.unit_of_work(read_only=True) as uow:
        assert await uow.users.get(added.id) == added


async def test_a_read_only_unit_of_work_cannot_write(storage: Storage) -> None:
    async def write() -> None:
        async with storage.unit_of_work(read_only=True) as uow:
            await uow.users.add(new_user("ana@example.com"))
            await uow.commit()

    # In memory the write fails at commit; PostgreSQL refuses the INSERT itself.
    with pytest.raises(RuntimeError, match="read-only"):
        await write()
    async with storage.unit_of_work() as uow:
        assert await uow.users.get_by_email("ana@example.com") is None


async def _open_transactions(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
        )
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.postgres
async def test_on_postgres_a_read_only_unit_of_work_opens_no_transaction(
    migrated_database_url: str,
) -> None:
    storage = PostgresStorage(migrated_database_url, min_size=1, max_size=1)
    await storage.open()
    try:
        async with storage.unit_of_work() as uow:
            await uow.users.get(1)
            assert await _open_transactions(migrated_database_url) == 1  # the control
        async with storage.unit_of_work(read_only=True) as uow:
            await uow.users.get(1)
            assert await _open_transactions(migrated_database_url) == 0
        async with storage.connection(read_only=True) as conn:
            await conn.execute("SELECT 1")
            assert await _open_transactions(migrated_database_url) == 0
        # The one pooled connection is back in transaction mode: what is not committed in
        # a unit of work after those is rolled back.
        async with storage.unit_of_work() as uow:
            await uow.users.add(new_user("bo@example.com"))
        async with storage.unit_of_work() as uow:
            assert await uow.users.get_by_email("bo@example.com") is None
    finally:
        await storage.close()

"""Helpers for tests that share one migrated database."""

import psycopg
from psycopg import sql


async def truncate_all(url: str) -> None:
    """Empty every table but the migration bookkeeping, and restart identities."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migrations'"
        )
        tables = [row[0] for row in await cursor.fetchall()]
        if tables:
            await conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )

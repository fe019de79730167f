"""Versioned SQL migrations: ``migrations/NNNN_name.sql``, applied in order, once each.

Each file runs in its own transaction together with its bookkeeping row, under an advisory
lock, so any number of processes may start at once and exactly one applies each step.
"""

import hashlib
import re
from importlib import resources

import msgspec
import psycopg

from securityvision.domain.errors import StorageError

_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x5EC0_5101  # any constant shared by every process of this product

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class Migration(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


class MigrationStatus(msgspec.Struct, frozen=True, kw_only=True):
    applied: list[str]
    pending: list[str]

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def available_migrations() -> list[Migration]:
    folder = resources.files("securityvision.adapters.postgres") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILENAME.match(entry.name)
        if match:
            found.append(
                Migration(version=int(match[1]), name=match[2], sql=entry.read_text("utf-8"))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StorageError("two migrations share a version number")
    return found


async def migration_status(conninfo: str) -> MigrationStatus:
    async with await _connect(conninfo) as conn:
        await conn.execute(_BOOKKEEPING)
        applied = await _applied_versions(conn)
    migrations = available_migrations()
    return MigrationStatus(
        applied=[m.label for m in migrations if m.version in applied],
        pending=[m.label for m in migrations if m.version not in applied],
    )


async def apply_migrations(conninfo: str) -> list[str]:
    """Apply every pending migration; returns the labels applied (empty when up to date)."""
    done: list[str] = []
    async with await _connect(conninfo) as conn:
        await conn.execute(_BOOKKEEPING)
        await conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        try:
            applied = await _applied_versions(conn)
            for migration in available_migrations():
                if migration.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        [migration.version, migration.name, migration.checksum],
                    )
                done.append(migration.label)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return done


async def _connect(conninfo: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StorageError(f"cannot connect to PostgreSQL: {_first_line(exc)}") from exc


async def _applied_versions(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[int]:
    cursor = await conn.execute("SELECT version FROM schema_migrations")
    return {int(str(row[0])) for row in await cursor.fetchall()}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

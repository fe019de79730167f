"""Versioned SQL migrations: ``migrations/NNNN_name.sql``, applied in order, once each.

Each file runs in its own transaction together with its bookkeeping row, under an advisory
lock, so any number of processes may start at once and exactly one applies each step.
"""

import asyncio
import hashlib
import re
from collections.abc import Callable
from importlib import resources

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict

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


async def apply_migrations(
    conninfo: str, *, on_applied: Callable[[str], None] | None = None
) -> list[str]:
    """Apply every pending migration; returns the labels applied (empty when up to date).
    ``on_applied`` is told each label as soon as its migration committed (progress)."""
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
                if on_applied is not None:
                    on_applied(migration.label)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return done


async def _connect(conninfo: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StorageError(f"cannot connect to PostgreSQL: {_first_line(exc)}") from exc


class SchemaInspection(msgspec.Struct, frozen=True, kw_only=True):
    """What ``securityvision doctor`` reports of a database."""

    server_version: str
    applied: list[str]
    pending: list[str]
    # Versions recorded as applied that this release does not have: a newer one migrated it.
    unknown: list[int]


def describe_conninfo(conninfo: str) -> str:
    """``user@host:port/dbname`` of a connection string, without its password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unreadable connection string)"
    host = str(parts.get("host") or "localhost")
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"{user}{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


async def inspect_schema(conninfo: str, *, within: float = 3.0) -> SchemaInspection:
    """Connect, read the server version and which migrations are applied, change nothing
    (not even the bookkeeping table); raises ``StorageError`` saying why it could not."""
    try:
        async with asyncio.timeout(within + 1):
            conn = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, connect_timeout=max(2, round(within))
            )
            async with conn:
                cursor = await conn.execute(
                    "SELECT current_setting('server_version'),"
                    " to_regclass('schema_migrations') IS NOT NULL"
                )
                row = await cursor.fetchone()
                assert row is not None
                version, bookkept = str(row[0]), bool(row[1])
                applied = await _applied_versions(conn) if bookkept else set()
    except (psycopg.Error, OSError, TimeoutError) as exc:
        address = describe_conninfo(conninfo)
        reason = "no answer in time" if isinstance(exc, TimeoutError) else _first_line(exc)
        reason = _without_secrets(reason, conninfo)
        raise StorageError(f"cannot connect to PostgreSQL at {address}: {reason}") from exc
    migrations = available_migrations()
    known = {m.version for m in migrations}
    return SchemaInspection(
        server_version=version,
        applied=[m.label for m in migrations if m.version in applied],
        pending=[m.label for m in migrations if m.version not in applied],
        unknown=sorted(applied - known),
    )


async def _applied_versions(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[int]:
    cursor = await conn.execute("SELECT version FROM schema_migrations")
    return {int(str(row[0])) for row in await cursor.fetchall()}


def _without_secrets(text: str, conninfo: str) -> str:
    """``text`` with the connection string and its password masked (a driver's message about
    a malformed one may quote it)."""
    text = text.replace(conninfo, describe_conninfo(conninfo))
    try:
        password = str(conninfo_to_dict(conninfo).get("password") or "")
    except psycopg.ProgrammingError:
        password = ""
    return text.replace(password, "***") if password else text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

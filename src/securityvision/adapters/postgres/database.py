"""The PostgreSQL system of record: a connection pool and units of work over it."""

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from securityvision.adapters.postgres.alerts import (
    PostgresAlertEventRepository,
    PostgresAlertRuleRepository,
    PostgresWebhookSubscriptionRepository,
)
from securityvision.adapters.postgres.cambus import (
    PostgresCameraPublicationRepository,
    PostgresCameraUplinkRepository,
)
from securityvision.adapters.postgres.cameras import (
    PostgresCameraGroupRepository,
    PostgresDeviceEventRepository,
    PostgresDeviceSecretRepository,
)
from securityvision.adapters.postgres.chatwoot import PostgresChatwootStore
from securityvision.adapters.postgres.collection_logs import PostgresCollectionLogRepository
from securityvision.adapters.postgres.device_users import PostgresDeviceUserRepository
from securityvision.adapters.postgres.devices import PostgresDeviceRepository
from securityvision.adapters.postgres.events import PostgresEventLog, PostgresEventSource
from securityvision.adapters.postgres.incidents import (
    PostgresIncidentMessageRepository,
    PostgresIncidentRepository,
    PostgresIncidentRuleRepository,
    PostgresSupportGroupRepository,
)
from securityvision.adapters.postgres.ingest import PostgresIngestStore
from securityvision.adapters.postgres.locations import (
    PostgresLocationRepository,
    PostgresLocationRuleRepository,
)
from securityvision.adapters.postgres.migrator import apply_migrations, migration_status
from securityvision.adapters.postgres.outbox import PostgresLocks, PostgresOutbox
from securityvision.adapters.postgres.people import (
    PostgresPersonGroupRepository,
    PostgresPersonRepository,
)
from securityvision.adapters.postgres.presence import PostgresPresenceStore
from securityvision.adapters.postgres.sites import (
    PostgresBuildingRepository,
    PostgresFloorPlanRepository,
    PostgresFloorRepository,
)
from securityvision.adapters.postgres.tags import (
    PostgresTagRepository,
    PostgresUnknownTagRepository,
)
from securityvision.adapters.postgres.users import PostgresUserRepository
from securityvision.domain.errors import DomainError, InvalidInput, StorageError

Connection = psycopg.AsyncConnection[DictRow]

# A connection handed back to the pool less than this long ago is handed out again without
# a check: it just worked. Older ones get the pool's check (one round trip), which weeds out
# connections a PostgreSQL restart or an idle timeout broke. Checking every checkout cost an
# API request two of its ~13 round trips (bench/README.md, the API under polling).
_TRUSTED_FOR_SECONDS = 2.0


class _PooledConnection(Connection):
    """A pooled connection that remembers when it was last handed back."""

    returned_at: float = float("-inf")


async def _check_unless_just_used(conn: _PooledConnection) -> None:
    if time.monotonic() - conn.returned_at > _TRUSTED_FOR_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


def _read_only_conninfo(conninfo: str) -> str:
    """The same server and account, every transaction read-only: a write on such a connection
    fails in PostgreSQL (``25006 read_only_sql_transaction``), whatever the code asked."""
    options = str(conninfo_to_dict(conninfo).get("options") or "")
    return make_conninfo(conninfo, options=f"{options} -c default_transaction_read_only=on".strip())


# Failed logins older than this are of no use to any throttle and are pruned on write.
_LOGIN_FAILURE_RETENTION = timedelta(hours=1)


class PostgresStorage:
    """Owns the pools. ``open()`` is the entrypoint's job, never done at construction, so
    building the container touches no network.

    Two pools: one for transactions, and one of autocommit connections on which PostgreSQL
    refuses writes, for what only reads (``read_only=True``). A read there costs its statements
    alone: no ``BEGIN`` before them and no ``ROLLBACK``/``COMMIT`` after, two of the ~11 round
    trips of a polled ``GET`` (authentication and the handler each read). The read pool keeps
    no idle connection it does not need (``min_size`` 0)."""

    def __init__(self, conninfo: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._conninfo = conninfo
        self._min_size = min_size
        self._max_size = max_size
        self._pool: AsyncConnectionPool[_PooledConnection] | None = None
        self._read_pool: AsyncConnectionPool[_PooledConnection] | None = None
        self._login_attempts = PostgresLoginAttempts(self)
        self._locks = PostgresLocks(conninfo)

    @property
    def login_attempts(self) -> "PostgresLoginAttempts":
        return self._login_attempts

    @property
    def locks(self) -> PostgresLocks:
        return self._locks

    async def open(self) -> None:
        """Open fresh pools (a closed storage may be opened again)."""
        if self._pool is not None:
            return
        pool: AsyncConnectionPool[_PooledConnection] = AsyncConnectionPool(
            self._conninfo,
            min_size=self._min_size,
            max_size=self._max_size,
            open=False,
            check=_check_unless_just_used,
            kwargs={"row_factory": dict_row},
            connection_class=_PooledConnection,
            name="securityvision",
        )
        read_pool: AsyncConnectionPool[_PooledConnection] = AsyncConnectionPool(
            _read_only_conninfo(self._conninfo),
            min_size=0,
            max_size=self._max_size,
            open=False,
            check=_check_unless_just_used,
            kwargs={"row_factory": dict_row, "autocommit": True},
            connection_class=_PooledConnection,
            name="securityvision-read",
        )
        try:
            await pool.open(wait=True, timeout=10.0)
        except PoolTimeout as exc:
            await pool.close()
            raise StorageError("PostgreSQL did not accept connections in time") from exc
        await read_pool.open()
        self._pool, self._read_pool = pool, read_pool

    async def close(self) -> None:
        pools = (self._pool, self._read_pool)
        self._pool = self._read_pool = None
        for pool in pools:
            if pool is not None:
                await pool.close()

    @property
    def pool(self) -> AsyncConnectionPool[_PooledConnection]:
        if self._pool is None:
            raise StorageError("the PostgreSQL storage is not open")
        return self._pool

    def _pool_for(self, *, read_only: bool) -> AsyncConnectionPool[_PooledConnection]:
        if not read_only:
            return self.pool
        if self._read_pool is None:
            raise StorageError("the PostgreSQL storage is not open")
        return self._read_pool

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.execute("SELECT 1")

    def event_source(self) -> PostgresEventSource:
        return PostgresEventSource(self._conninfo)

    async def ensure_schema(self, *, apply: bool) -> list[str]:
        """Apply pending migrations (returning their labels), or with ``apply=False`` refuse a
        schema that is behind."""
        if apply:
            return await apply_migrations(self._conninfo)
        status = await migration_status(self._conninfo)
        if status.pending:
            raise StorageError(
                f"the database schema is behind ({len(status.pending)} pending:"
                f" {', '.join(status.pending)}); run `securityvision migrate`"
                " or set RUN_MIGRATIONS=1"
            )
        return []

    def unit_of_work(self, *, read_only: bool = False) -> "PostgresUnitOfWork":
        return PostgresUnitOfWork(self, read_only=read_only)

    @asynccontextmanager
    async def connection(self, *, read_only: bool = False) -> AsyncIterator[Connection]:
        """A pooled connection, committed at the end of the block (rolled back on an error);
        ``read_only``: one of the read pool's. Driver failures leave as ``StorageError``."""
        try:
            async with self._pool_for(read_only=read_only).connection(timeout=10.0) as conn:
                try:
                    yield conn
                finally:
                    conn.returned_at = time.monotonic()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageError(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
        except psycopg.DataError as exc:
            if (bad := _bad_value(exc)) is not None:
                raise bad from exc
            raise

    async def acquire(self, *, read_only: bool = False) -> Connection:
        """A connection for a unit of work, which must hand it back with ``release``."""
        try:
            return await self._pool_for(read_only=read_only).getconn(timeout=10.0)
        except PoolTimeout as exc:
            raise StorageError("no PostgreSQL connection available") from exc

    async def release(self, conn: Connection, *, read_only: bool = False) -> None:
        if not isinstance(conn, _PooledConnection):
            raise TypeError("not a connection of this storage's pool")
        conn.returned_at = time.monotonic()
        await self._pool_for(read_only=read_only).putconn(conn)


# Values a request may carry that PostgreSQL cannot store or compare: the caller's to fix (422),
# not a server error. By SQLSTATE: too long for its column, a number out of its type's range,
# a Unicode escape jsonb cannot hold (\u0000); psycopg's own (no SQLSTATE): a NUL in text.
_BAD_VALUES = (
    psycopg.errors.StringDataRightTruncation,
    psycopg.errors.NumericValueOutOfRange,
    psycopg.errors.UntranslatableCharacter,
)


def _bad_value(exc: BaseException | None) -> InvalidInput | None:
    if isinstance(exc, _BAD_VALUES) or (type(exc) is psycopg.DataError and "NUL" in str(exc)):
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return InvalidInput(f"a value the database cannot store: {detail}", code="invalid_value")
    return None


def _read_only() -> RuntimeError:
    return RuntimeError("a read-only unit of work cannot write or commit")


class PostgresUnitOfWork:
    """One transaction on one pooled connection; rolled back unless ``commit()`` was called.
    Read-only: autocommit reads on a connection of the read pool, where writes fail."""

    def __init__(self, storage: PostgresStorage, *, read_only: bool = False) -> None:
        self._storage = storage
        self._read_only = read_only
        self.committed = False

    async def __aenter__(self) -> Self:
        self._conn = await self._storage.acquire(read_only=self._read_only)
        self.users = PostgresUserRepository(self._conn)
        self.events = PostgresEventLog(self._conn)
        self.people = PostgresPersonRepository(self._conn)
        self.person_groups = PostgresPersonGroupRepository(self._conn)
        self.tags = PostgresTagRepository(self._conn)
        self.unknown_tags = PostgresUnknownTagRepository(self._conn)
        self.devices = PostgresDeviceRepository(self._conn)
        self.collection_logs = PostgresCollectionLogRepository(self._conn)
        self.ingest = PostgresIngestStore(self._conn)
        self.outbox = PostgresOutbox(self._conn)
        self.presence = PostgresPresenceStore(self._conn)
        self.buildings = PostgresBuildingRepository(self._conn)
        self.floors = PostgresFloorRepository(self._conn)
        self.floor_plans = PostgresFloorPlanRepository(self._conn)
        self.locations = PostgresLocationRepository(self._conn)
        self.location_rules = PostgresLocationRuleRepository(self._conn)
        self.device_users = PostgresDeviceUserRepository(self._conn)
        self.device_events = PostgresDeviceEventRepository(self._conn)
        self.device_secrets = PostgresDeviceSecretRepository(self._conn)
        self.camera_groups = PostgresCameraGroupRepository(self._conn)
        self.support_groups = PostgresSupportGroupRepository(self._conn)
        self.incident_rules = PostgresIncidentRuleRepository(self._conn)
        self.incidents = PostgresIncidentRepository(self._conn)
        self.incident_messages = PostgresIncidentMessageRepository(self._conn)
        self.chatwoot = PostgresChatwootStore(self._conn)
        self.camera_publications = PostgresCameraPublicationRepository(self._conn)
        self.camera_uplinks = PostgresCameraUplinkRepository(self._conn)
        self.alert_rules = PostgresAlertRuleRepository(self._conn)
        self.alert_events = PostgresAlertEventRepository(self._conn)
        self.webhooks = PostgresWebhookSubscriptionRepository(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self.committed and not self._conn.closed:
                await self._conn.rollback()
        finally:
            await self._storage.release(self._conn, read_only=self._read_only)
        if isinstance(exc, psycopg.OperationalError):
            raise StorageError(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
        if (bad := _bad_value(exc)) is not None:
            raise bad from exc
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            raise _read_only() from exc

    async def commit(self) -> None:
        if self._read_only:
            raise _read_only()
        try:
            await self._conn.commit()
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.errors.UniqueViolation):
                raise DomainError("conflicting write", code="conflict") from exc
            raise StorageError(f"commit failed: {type(exc).__name__}") from exc
        self.committed = True


class PostgresLoginAttempts:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    async def record_failure(self, keys: Sequence[str], at: datetime) -> None:
        async with self._storage.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO login_failures (key, failed_at) VALUES (%s, %s)",
                [(key, at) for key in keys],
            )
            await cur.execute(
                "DELETE FROM login_failures WHERE key = ANY(%s) AND failed_at < %s",
                [list(keys), at - _LOGIN_FAILURE_RETENTION],
            )

    async def failures_since(self, key: str, since: datetime) -> Sequence[datetime]:
        async with self._storage.connection() as conn:
            cursor = await conn.execute(
                "SELECT failed_at FROM login_failures WHERE key = %s AND failed_at >= %s"
                " ORDER BY failed_at",
                [key, since],
            )
            rows: list[dict[str, Any]] = await cursor.fetchall()
        return [row["failed_at"] for row in rows]

    async def clear(self, key: str) -> None:
        async with self._storage.connection() as conn:
            await conn.execute("DELETE FROM login_failures WHERE key = %s", [key])

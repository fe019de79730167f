"""Throw-away databases on a test PostgreSQL server.

Every test run works in databases of its own, named ``sv_test_<hex>``, so that runs sharing
one server (two checkouts, CI beside a developer) never see each other's rows. A test that
needs a pristine database of its own (a migration test, say) makes one with
``temporary_database``.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import conninfo, sql

PREFIX = "sv_test_"
_CONNECT_TIMEOUT_SECONDS = 10


def create_database(server_url: str, prefix: str = PREFIX) -> str:
    """Create a new, uniquely named database on the server and return its URL.

    ``server_url`` is any database on the server that the user may connect to and whose
    user may create databases (``postgres`` in CI and in the embedded server).
    """
    name = f"{prefix}{secrets.token_hex(6)}"
    with psycopg.connect(
        server_url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_SECONDS
    ) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop the database ``database_url`` names, ending the sessions still connected to it.

    Connects through ``server_url``: nobody can drop the database they are connected to.
    """
    name = conninfo.conninfo_to_dict(database_url).get("dbname")
    if not name:
        msg = f"no database name in {database_url!r}"
        raise ValueError(msg)
    with psycopg.connect(
        server_url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_SECONDS
    ) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@contextmanager
def temporary_database(server_url: str, prefix: str = PREFIX) -> Iterator[str]:
    """A new database for the ``with`` block (its URL), dropped at the end."""
    database_url = create_database(server_url, prefix)
    try:
        yield database_url
    finally:
        drop_database(server_url, database_url)


def with_database(url: str, name: str) -> str:
    """``url`` naming database ``name`` instead, in the same form (URL or ``key=value``).

    A URL stays a URL, since configuration (``DATABASE_URL``) expects one.
    """
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{name}"))
    return conninfo.make_conninfo(url, dbname=name)

"""Small helpers the PostgreSQL repositories share."""

from typing import Any

import psycopg
from psycopg.rows import DictRow

from securityvision.domain.errors import DomainError, StorageError


async def one(cursor: psycopg.AsyncCursor[DictRow]) -> dict[str, Any]:
    """The row a statement must have produced."""
    row = await cursor.fetchone()
    if row is None:
        raise StorageError("expected a row, got none")
    return row


def translate(exc: psycopg.errors.IntegrityError, errors: dict[str, DomainError]) -> Exception:
    """The project's error for the violated constraint, or a ``StorageError`` for one nobody
    expected (chain it with ``from exc``)."""
    constraint = exc.diag.constraint_name or ""
    known = errors.get(constraint)
    if known is not None:
        return known
    return StorageError(f"unexpected {type(exc).__name__} on {constraint or 'a constraint'}")

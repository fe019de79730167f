"""The errors the business speaks in.

Each carries a stable machine-readable ``code`` that the HTTP layer passes to clients beside
the human ``detail``; adapters translate driver errors into these, so the layers above never
see a psycopg or httpx exception.
"""


class DomainError(Exception):
    """Something the business refuses; ``code`` is stable, the message is for people."""

    code = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class PermissionDenied(DomainError):
    code = "forbidden"


class AuthenticationFailed(DomainError):
    """The caller is not who they claim, or not anyone at all."""

    code = "not_authenticated"


class TooManyAttempts(DomainError):
    """A throttle is closed; ``retry_after`` says for how many seconds more."""

    code = "too_many_attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class StorageError(Exception):
    """The system of record could not be reached or refused the operation unexpectedly."""

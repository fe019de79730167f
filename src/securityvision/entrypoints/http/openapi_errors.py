"""The error answers in ``/openapi.json``: every operation documents the ``{status_code, code,
detail}`` bodies it may answer with, so a client generated from the schema (and schemathesis,
which holds the API to it in the test suite) knows them.

Litestar documents only a ``400`` of its own validation shape; ours answers a failed
validation with ``422`` and every error with one body. Added to each operation, never over a
response the handler documents itself:

- ``400`` (business refusals: a taken e-mail or code, wrong credentials), ``403`` (a role, or
  signup outside dev), ``404``, ``409`` and ``422`` everywhere under ``/api/v1``;
- ``401`` on every operation that needs a token, ``404`` on ``/media/…``;
- ``413`` and ``415`` on uploads, ``429`` on login.
"""

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from securityvision.entrypoints.http.auth import PUBLIC


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    code: str
    detail: str


_DESCRIPTIONS = {
    400: "Refused: the request breaks a business rule (`code` says which)",
    401: "No valid token",
    403: "The user's role does not allow this",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid input (`detail` names the field)",
    429: "Too many attempts (see `Retry-After`)",
}


def _codes(handler: HTTPRouteHandler, path: str) -> set[int]:
    if path.startswith("/media/"):
        return {404}
    if not path.startswith("/api/"):
        return set()
    codes = {400, 403, 404, 409, 422}
    if not handler.opt.get(PUBLIC) or path.endswith("/integrations/chatwoot/webhook"):
        # Needs a token; or, the Chatwoot webhook, its own signature instead of one.
        codes.add(401)
    if path.endswith("/auth/login"):
        codes.add(429)
    if path.endswith(("/image", "/attachments")):
        codes |= {413, 415}
    return codes


def document_errors(app: Litestar) -> None:
    """Add the error responses to every route handler of ``app`` (before the schema is built,
    which Litestar does on the first request for it)."""
    spec = {
        code: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
        for code, text in _DESCRIPTIONS.items()
    }
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            documented: dict[int, Any] = dict(handler.responses or {})
            for code in _codes(handler, route.path):
                documented.setdefault(code, spec[code])
            handler.responses = documented

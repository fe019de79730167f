"""Bearer-token authentication and role guards.

Every route is authenticated unless its handler says ``opt={"public": True}`` or it is one of
the few public paths (health, docs, metrics, media). There is no anonymous mode.
"""

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Guard

from securityvision.application.identity import Authenticate
from securityvision.domain.identity import Role, User

PUBLIC = "public"
PUBLIC_PATHS = [r"^/health$", r"^/docs", r"^/openapi\.json$", r"^/metrics$", r"^/media/"]


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    def __init__(
        self, app: ASGIApp, authenticate: Callable[[], Authenticate], **kwargs: Any
    ) -> None:
        super().__init__(
            app,
            exclude=PUBLIC_PATHS,
            exclude_from_auth_key=PUBLIC,
            exclude_http_methods=["OPTIONS"],
            **kwargs,
        )
        self._authenticate = authenticate

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("Not authenticated")
        user = await self._authenticate().execute(token.strip())
        return AuthenticationResult(user=user, auth=token.strip())


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    user = connection.user
    if not isinstance(user, User):
        raise NotAuthorizedException("Not authenticated")
    return user


def requires(role: Role) -> Guard:
    """A guard letting through users of ``role`` or above."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not current_user(connection).has_at_least(role):
            raise PermissionDeniedException(f"{role} role required")

    return guard


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def viewers_read_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """VIEWER accounts only read; applied to every route of the API."""
    if handler.opt.get(PUBLIC) or connection.scope.get("method") in _SAFE_METHODS:
        return
    user = connection.scope.get("user")
    if isinstance(user, User) and not user.has_at_least(Role.OPERATOR):
        raise PermissionDeniedException("VIEWER accounts are read-only")

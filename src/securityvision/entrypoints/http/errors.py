"""One place that turns every failure into ``{status_code, code, detail}``.

Domain errors map to statuses by class (and, for the original's compatibility, by code);
anything unexpected is logged with its traceback and answered with a bare 500 — never the
traceback itself.
"""

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from securityvision.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageError,
    TooManyAttempts,
)

log = logging.getLogger("securityvision.http")

_STATUS_BY_CLASS: list[tuple[type[DomainError], int]] = [
    (NotFound, HTTP_404_NOT_FOUND),
    (Conflict, HTTP_409_CONFLICT),
    (InvalidInput, HTTP_422_UNPROCESSABLE_ENTITY),
    (PermissionDenied, HTTP_403_FORBIDDEN),
    (AuthenticationFailed, HTTP_401_UNAUTHORIZED),
    (TooManyAttempts, HTTP_429_TOO_MANY_REQUESTS),
]

# Where the original answered differently from the class rule and the front end knows it.
_STATUS_BY_CODE = {
    "invalid_credentials": HTTP_400_BAD_REQUEST,
    "email_taken": HTTP_400_BAD_REQUEST,
    # The original answered its unique-key violations with 400.
    "tag_mac_taken": HTTP_400_BAD_REQUEST,
    "person_group_name_taken": HTTP_400_BAD_REQUEST,
    "device_code_taken": HTTP_400_BAD_REQUEST,
    "device_mac_taken": HTTP_400_BAD_REQUEST,
    "not_a_gateway": HTTP_400_BAD_REQUEST,
    "building_code_taken": HTTP_400_BAD_REQUEST,
    "device_user_id_taken": HTTP_400_BAD_REQUEST,
    "location_id_mismatch": HTTP_400_BAD_REQUEST,
    "camera_group_name_taken": HTTP_400_BAD_REQUEST,
    "support_group_name_taken": HTTP_400_BAD_REQUEST,
    "not_a_camera": HTTP_400_BAD_REQUEST,
    # cam-bus uplinks: the original's 400 for a camera missing what an uplink needs.
    "uplink_not_configured": HTTP_400_BAD_REQUEST,
    # A deployment that does not publish to cam-bus: the request conflicts with its setup.
    "cambus_disabled": HTTP_409_CONFLICT,
    # Uploads (docs/api.md, media): too big, or not an image we take.
    "image_too_large": HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_image_type": HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}

_CODE_BY_STATUS = {
    HTTP_400_BAD_REQUEST: "bad_request",
    HTTP_401_UNAUTHORIZED: "not_authenticated",
    HTTP_403_FORBIDDEN: "forbidden",
    HTTP_404_NOT_FOUND: "not_found",
    HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTP_409_CONFLICT: "conflict",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTP_422_UNPROCESSABLE_ENTITY: "validation_error",
    HTTP_429_TOO_MANY_REQUESTS: "too_many_requests",
    HTTP_503_SERVICE_UNAVAILABLE: "service_unavailable",
}


def error_response(
    status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        {"status_code": status_code, "code": code, "detail": detail},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = _STATUS_BY_CODE.get(exc.code) or next(
        (status for cls, status in _STATUS_BY_CLASS if isinstance(exc, cls)),
        HTTP_400_BAD_REQUEST,
    )
    headers = None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    elif status == HTTP_401_UNAUTHORIZED:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(status, exc.code, exc.detail, headers)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = [
        f"{p.get('key') or 'body'}: {p.get('message')}" for p in problems if isinstance(p, dict)
    ]
    detail = "; ".join(parts) or str(exc.detail)
    return error_response(HTTP_422_UNPROCESSABLE_ENTITY, "validation_error", detail)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    headers = dict(exc.headers or {})
    if exc.status_code == HTTP_401_UNAUTHORIZED:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return error_response(exc.status_code, code, str(exc.detail), headers or None)


def _storage_error(request: Request[Any, Any, Any], exc: StorageError) -> Response[dict[str, Any]]:
    log.error("storage unavailable during %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        HTTP_503_SERVICE_UNAVAILABLE,
        "storage_unavailable",
        "The database is unavailable; try again shortly",
        {"Retry-After": "5"},
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error during %s %s", request.method, request.url.path)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "Internal server error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    StorageError: _storage_error,
    Exception: _unexpected,
}

"""Domain errors and their one rendering: RFC 9457 ``application/problem+json``.

Every domain raises a subclass of :class:`AtlasError` carrying its HTTP status and a stable ``code``;
a single set of handlers turns those, framework errors and unexpected exceptions into problems.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("atlas.errors")


class AtlasError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.default_title()
        self.instance_code = code or self.code
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(self.detail)

    @classmethod
    def default_title(cls) -> str:
        return cls.title or HTTPStatus(cls.status).phrase


class BadRequest(AtlasError):
    status = 400
    code = "bad_request"


class Unauthorized(AtlasError):
    status = 401
    code = "unauthorized"


class Forbidden(AtlasError):
    status = 403
    code = "forbidden"


class NotFound(AtlasError):
    status = 404
    code = "not_found"


class Conflict(AtlasError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AtlasError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AtlasError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(AtlasError):
    status = 422
    code = "validation_error"


class RateLimited(AtlasError):
    status = 429
    code = "rate_limited"


class RetryLater(RateLimited):
    """A spent budget: 429 with ``Retry-After`` (header and problem member)."""

    def __init__(self, retry_after: int, *, what: str = "requests") -> None:
        super().__init__(
            f"Too many {what}; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


class ServiceUnavailable(AtlasError):
    status = 503
    code = "service_unavailable"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:atlas:problem:{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _field_errors(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    code = "validation_error"
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            code = "malformed_json"
        errors.append({"field": ".".join(loc), "message": str(err.get("msg", "")), "type": err.get("type")})
    return code, errors


async def _atlas_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AtlasError)  # noqa: S101 - registered for AtlasError only
    return problem(
        exc.status, exc.instance_code, exc.detail, title=exc.default_title(), headers=exc.headers, **exc.extra
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    code, errors = _field_errors(exc)
    if code == "malformed_json":
        return problem(400, code, "The request body is not valid JSON.", errors=errors)
    fields = ", ".join(e["field"] for e in errors) or "request"
    return problem(422, code, f"Invalid input: {fields}.", errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    status = exc.status_code
    code = _STATUS_CODES.get(status, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404 and detail == "Not Found":
        detail = "No such resource."
    if status == 405:
        detail = "This method is not allowed on this resource."
    return problem(status, code, detail, headers=getattr(exc, "headers", None))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost or unreachable database is the service being unavailable, not a bug: 503 + Retry-After.
    Any other driver error (a constraint nobody expected, say) is still a 500."""
    assert isinstance(exc, DBAPIError)  # noqa: S101 - registered for this type only
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
        # The type only: driver messages can quote statement parameters.
        log.warning("database_unavailable", exc_type=type(exc.orig).__name__)
        return problem(
            503, "database_unavailable", "The database is unavailable right now; retry shortly.",
            headers={"Retry-After": "1"},
        )
    return await _unexpected(request, exc)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex
    log.error("unhandled_exception", error_id=error_id, exc_type=type(exc).__name__, exc_info=exc)
    return problem(
        500,
        "internal_error",
        "An unexpected error occurred; quote the error id when reporting it.",
        error_id=error_id,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AtlasError, _atlas_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)

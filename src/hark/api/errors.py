"""Every error leaves as the Soniox ApiError envelope, with the request's id; the Invox
and OpenAI routes' errors in those APIs' own shapes."""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from hark.service import (
    DATABASE_UNAVAILABLE,
    InsufficientStorage,
    ServiceError,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

_HTTP_ERROR_TYPES = {
    400: "invalid_request",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


INVOX_PREFIX = "/api/"  # the Invox Medical API's routes (see invox.py)
# The OpenAI door's routes (see openai.py), under /v1 or at the root.
OPENAI_PREFIXES = ("/audio/", "/models/")
# Hark's quota errors are what OpenAI calls rate limits (the SDK's RateLimitError).
QUOTA_ERRORS = {
    "file_limit_exceeded",
    "storage_limit_exceeded",
    "transcription_limit_exceeded",
    "too_many_pending_transcriptions",
}
# OpenAI's error `type` by status.
OPENAI_TYPES = {401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error"}
OPENAI_TYPES |= {429: "rate_limit_error"}


def is_openai_route(path: str) -> bool:
    return path.removeprefix("/v1").startswith(OPENAI_PREFIXES)


def error_response(
    request: Request,
    status_code: int,
    error_type: str,
    message: str,
    validation_errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if request.url.path.startswith(INVOX_PREFIX):
        return _invox_error(request, status_code, error_type, message, headers)
    if is_openai_route(request.url.path):
        return openai_error(status_code, error_type, message, validation_errors, headers)
    return JSONResponse(
        {
            "status_code": status_code,
            "error_type": error_type,
            "message": message,
            "validation_errors": validation_errors or [],
            "request_id": getattr(request.state, "request_id", None),
        },
        status_code=status_code,
        headers=headers,
    )


def _invox_error(
    request: Request,
    status_code: int,
    error_type: str,
    message: str,
    headers: dict[str, str] | None,
) -> JSONResponse:
    """Invox's error shapes (CONTRACTS §3.6): the message under both spellings (its docs
    write `messsage`), and an `errorType` except on 401."""
    body = {"message": message, "messsage": message}
    if status_code != 401:
        if status_code == 400 and request.url.path.endswith("/generate-presigned-url"):
            error_type = "GENERATE_PRESIGNURL_ERROR"
        body["errorType"] = error_type
    return JSONResponse(body, status_code=status_code, headers=headers)


def openai_error(
    status_code: int,
    error_type: str,
    message: str,
    validation_errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """OpenAI's error shape (CONTRACTS §5.4), with the status its SDK maps to the right
    exception: oversize files 413, quotas 429. `code` is Hark's error type; `param` the
    form field at fault."""
    errors = validation_errors or []
    if any(e.get("error_type") == "too_large" for e in errors):
        status_code = 413
    if error_type in QUOTA_ERRORS:
        status_code = 429
    param = errors[0]["location"].split(".", 1)[-1] if errors else None
    if status_code == 401:
        error_type = "invalid_api_key"
    kind = "server_error" if status_code >= 500 else OPENAI_TYPES.get(status_code)
    body = {
        "message": message,
        "type": kind or "invalid_request_error",
        "param": param,
        "code": error_type,
    }
    return JSONResponse({"error": body}, status_code=status_code, headers=headers)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _message(error: dict) -> str:
    if error.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if (retry_after := getattr(exc, "retry_after", None)) is not None:
        headers = {"Retry-After": str(retry_after)}
    return error_response(
        request,
        exc.status_code,
        exc.error_type,
        exc.message,
        [
            {"error_type": e.error_type, "location": e.location, "message": e.message}
            for e in exc.validation_errors
        ],
        headers,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "error_type": e.get("type", "invalid"),
            "location": _location(e["loc"]),
            "message": _message(e),
        }
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
    return error_response(request, 400, "invalid_request", f"Invalid request: {summary}", errors)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    body_error = getattr(request.state, "body_error", None)
    if body_error is not None:
        return await _service_error(request, body_error)
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404:
        message = f"No such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    return error_response(request, exc.status_code, error_type, message, headers=exc.headers)


async def _client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
    # Nobody is listening any more; the upload has been discarded. Not a server error.
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return error_response(request, 400, "invalid_request", "The client disconnected.")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    what = type(exc).__name__
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, what)
    return await _service_error(
        request, ServiceUnavailable("The database is unavailable. Please try again.")
    )


# The disk the audio (or the database) is written to is full.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


async def _os_error(request: Request, exc: OSError) -> JSONResponse:
    if exc.errno not in DISK_FULL:
        return await _unexpected(request, exc)
    log.error("storage full during %s %s: %s", request.method, request.url.path, exc)
    return await _service_error(
        request,
        InsufficientStorage(
            "The server has no space left to store this upload; nothing of it was kept. "
            "Try again once space has been freed."
        ),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # This handler runs outside RequestContext, so the id header is added here.
    request_id = getattr(request.state, "request_id", None)
    return error_response(
        request,
        500,
        "internal_error",
        "The server encountered an error. Please try again.",
        headers={"X-Request-Id": request_id} if request_id else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected)

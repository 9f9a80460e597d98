"""The client's exceptions: one hierarchy under `HarkError`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


class HarkError(Exception):
    """Base class of every exception the Hark client raises on purpose."""


class HarkValidationError(HarkError, ValueError):
    """Bad arguments, caught before anything is sent (e.g. both `file_id` and `audio_url`)."""


class HarkConnectionError(HarkError):
    """The server could not be reached, or the connection failed, after all retries."""


class InvalidWebhookSignatureError(HarkError):
    """A webhook's secret header, signature or timestamp did not verify."""


@dataclass(frozen=True)
class ValidationErrorDetail:
    """One entry of an error's `validation_errors`: which field, and what is wrong with it."""

    error_type: str
    location: str
    message: str


class HarkAPIError(HarkError):
    """The server answered with an error status (the ApiError envelope, parsed).

    Attributes: `status_code`, `error_type` (stable machine-readable code such as
    `transcription_not_found`), `message`, `validation_errors` (list of
    `ValidationErrorDetail`), `request_id` (quote it when reporting a problem) and `response`
    (the `httpx.Response`, when there is one).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        validation_errors: list[ValidationErrorDetail] | None = None,
        request_id: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_type = error_type
        self.validation_errors = validation_errors or []
        self.request_id = request_id
        self.response = response

    def __str__(self) -> str:
        text = self.message
        if self.status_code is not None:
            text += f" (HTTP {self.status_code}"
            text += f", {self.error_type})" if self.error_type else ")"
        if self.validation_errors:
            text += " Validation errors: " + ", ".join(
                f"{e.location}: {e.message}" for e in self.validation_errors
            )
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    @classmethod
    def from_response(cls, response: httpx.Response) -> HarkAPIError:
        """The exception for an error response: its class follows the status code."""
        body = _json_or_none(response)
        envelope = body if isinstance(body, dict) else {}
        message = envelope.get("message") or envelope.get("error_message")
        if not isinstance(message, str) or not message:
            message = _text_message(response)
        error_type = envelope.get("error_type")
        request_id = envelope.get("request_id") or response.headers.get("x-request-id")
        details = [
            ValidationErrorDetail(
                error_type=str(item.get("error_type", "")),
                location=str(item.get("location", "")),
                message=str(item.get("message", "")),
            )
            for item in envelope.get("validation_errors") or []
            if isinstance(item, dict)
        ]
        error_class = _class_for(response.status_code, error_type)
        return error_class(
            message,
            status_code=response.status_code,
            error_type=error_type if isinstance(error_type, str) else None,
            validation_errors=details,
            request_id=request_id if isinstance(request_id, str) else None,
            response=response,
        )


class HarkInvalidRequestError(HarkAPIError):
    """400: the request was malformed or asked for something impossible."""


class HarkAuthenticationError(HarkAPIError):
    """401 or 403: the API key is missing, unknown, revoked or not allowed."""


class HarkPermissionDeniedError(HarkAuthenticationError):
    """403 with `error_type` `permission_denied`: a valid key without the permission."""


class HarkNotFoundError(HarkAPIError):
    """404: no such file, transcription or endpoint (for this key's project)."""


class HarkConflictError(HarkAPIError):
    """409: the resource is in the wrong state (e.g. deleting while processing)."""


class HarkRateLimitError(HarkAPIError):
    """429: too many requests or over a quota."""


class HarkServerError(HarkAPIError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[HarkAPIError]] = {
    400: HarkInvalidRequestError,
    401: HarkAuthenticationError,
    403: HarkAuthenticationError,
    404: HarkNotFoundError,
    409: HarkConflictError,
    429: HarkRateLimitError,
}


def _class_for(status_code: int, error_type: Any) -> type[HarkAPIError]:
    if status_code == 403 and error_type == "permission_denied":
        return HarkPermissionDeniedError
    if status_code >= 500:
        return HarkServerError
    return _BY_STATUS.get(status_code, HarkAPIError)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _text_message(response: httpx.Response) -> str:
    text = response.content.decode("utf-8", "replace").strip()
    if not text or text[:1] in "{[" or text.lower().startswith(("<!doctype", "<html")):
        return response.reason_phrase or f"HTTP {response.status_code}"
    return text[:1000]

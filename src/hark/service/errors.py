"""Failures a client can act on. The API renders each as the Soniox ApiError envelope."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldError:
    location: str
    message: str
    error_type: str = "invalid_value"


class ServiceError(Exception):
    status_code = 400
    error_type = "invalid_request"

    def __init__(
        self,
        message: str,
        error_type: str | None = None,
        validation_errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_type:
            self.error_type = error_type
        self.validation_errors = validation_errors or []


class InvalidRequest(ServiceError):
    pass


class Unauthenticated(ServiceError):
    status_code = 401
    error_type = "unauthenticated"


class NotFound(ServiceError):
    status_code = 404
    error_type = "not_found"


class Conflict(ServiceError):
    status_code = 409
    error_type = "transcription_invalid_state"


class PayloadTooLarge(ServiceError):
    status_code = 413
    error_type = "payload_too_large"


class TooManyRequests(ServiceError):
    status_code = 429
    error_type = "rate_limited"


class ServiceUnavailable(ServiceError):
    """Something the request needs (the database) is not answering: try again shortly."""

    status_code = 503
    error_type = "service_unavailable"
    retry_after = 5


class InsufficientStorage(ServiceError):
    """The disk (or volume) the audio goes to is full."""

    status_code = 507
    error_type = "insufficient_storage"

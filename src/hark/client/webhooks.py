"""Check and parse webhook deliveries from Hark (no network: this is for your receiver).

Hark POSTs `{"id": "<transcription id>", "status": "completed" | "error"}` to a job's
`webhook_url`. Two independent protections can be checked:

1. The custom header: the job's `webhook_auth_header_name`/`_value` are sent back with every
   delivery. The receiver compares the value (in constant time). Configure the expected value
   with `webhook_secret=` or `HARK_WEBHOOK_SECRET`, the header name with
   `webhook_signature_header=` or `HARK_WEBHOOK_HEADER` (default `X-Hark-Webhook-Secret`).
   `stt.transcribe_file_with_webhook` sends the same configuration to the server.
2. The signature: when the server has a signing secret, each delivery carries
   `Hark-Timestamp: <unix seconds>` and
   `Hark-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`. Configure the
   secret with `webhook_signing_secret=` or `HARK_WEBHOOK_SIGNING_SECRET`; deliveries older or
   newer than `tolerance_sec` (default 300 s) are rejected, so a captured delivery cannot be
   replayed later.

Whatever is configured is checked; with nothing configured, verification is skipped (as in the
Soniox SDK). Failures raise `InvalidWebhookSignatureError`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping

from pydantic import ValidationError

from .errors import HarkValidationError, InvalidWebhookSignatureError
from .types import WebhookAuthConfig, WebhookEvent

DEFAULT_WEBHOOK_HEADER = "X-Hark-Webhook-Secret"
WEBHOOK_SECRET_ENV = "HARK_WEBHOOK_SECRET"
WEBHOOK_HEADER_ENV = "HARK_WEBHOOK_HEADER"
WEBHOOK_SIGNING_SECRET_ENV = "HARK_WEBHOOK_SIGNING_SECRET"
TIMESTAMP_HEADER = "Hark-Timestamp"
SIGNATURE_HEADER = "Hark-Signature"
DEFAULT_TOLERANCE_SEC = 300.0


def compute_signature(secret: str | bytes, timestamp: int | str, body: bytes | str) -> str:
    """The `Hark-Signature` value for a body sent at `timestamp`: `v1=<lowercase hex>`."""
    key = secret.encode() if isinstance(secret, str) else secret
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(key, f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class WebhooksAPI:
    """`client.webhooks`: verify deliveries and build webhook settings for new jobs."""

    def __init__(
        self,
        *,
        webhook_secret: str | None = None,
        webhook_header: str | None = None,
        signing_secret: str | None = None,
        tolerance_sec: float = DEFAULT_TOLERANCE_SEC,
    ) -> None:
        self._secret = webhook_secret
        self._header = webhook_header
        self._signing_secret = signing_secret
        self.tolerance_sec = tolerance_sec

    def auth_config(self, auth: WebhookAuthConfig | None = None) -> WebhookAuthConfig | None:
        """The custom header in force: `auth`, else the client's or environment's, else None."""
        if auth is not None:
            return auth
        value = self._secret or os.environ.get(WEBHOOK_SECRET_ENV)
        if not value:
            return None
        name = self._header or os.environ.get(WEBHOOK_HEADER_ENV) or DEFAULT_WEBHOOK_HEADER
        return WebhookAuthConfig(name=name, value=value)

    def webhook_payload(
        self, webhook_url: str, *, auth: WebhookAuthConfig | None = None
    ) -> dict[str, str]:
        """The `webhook_*` fields for creating a transcription that notifies `webhook_url`."""
        fields = {"webhook_url": webhook_url}
        config = self.auth_config(auth)
        if config is not None:
            fields["webhook_auth_header_name"] = config.name
            fields["webhook_auth_header_value"] = config.value
        return fields

    def verify_signature(
        self,
        headers: Mapping[str, str],
        *,
        body: bytes | str | None = None,
        auth: WebhookAuthConfig | None = None,
        signing_secret: str | None = None,
        tolerance_sec: float | None = None,
        now: float | None = None,
    ) -> None:
        """Check a delivery's custom header and, with a signing secret, its HMAC signature and
        timestamp (`body` is then required: the raw bytes as received).

        Raises:
            InvalidWebhookSignatureError: a check failed.
            HarkValidationError: a signing secret is configured but no `body` was given.
        """
        config = self.auth_config(auth)
        if config is not None:
            received = _header(headers, config.name)
            if received is None or not _same(received, config.value):
                raise InvalidWebhookSignatureError(
                    f"Webhook header {config.name} is missing or wrong"
                )
        secret = (
            signing_secret or self._signing_secret or os.environ.get(WEBHOOK_SIGNING_SECRET_ENV)
        )
        if not secret:
            return
        if body is None:
            raise HarkValidationError("The raw webhook body is needed to check its signature")
        tolerance = self.tolerance_sec if tolerance_sec is None else tolerance_sec
        self._check_signature(headers, body, secret, tolerance, time.time() if now is None else now)

    @staticmethod
    def _check_signature(
        headers: Mapping[str, str], body: bytes | str, secret: str, tolerance: float, now: float
    ) -> None:
        stamp = _header(headers, TIMESTAMP_HEADER)
        signatures = _header(headers, SIGNATURE_HEADER)
        if not stamp or not signatures:
            raise InvalidWebhookSignatureError(
                f"Webhook is not signed ({TIMESTAMP_HEADER}/{SIGNATURE_HEADER} missing)"
            )
        try:
            sent_at = int(stamp)
        except ValueError:
            raise InvalidWebhookSignatureError(f"Bad {TIMESTAMP_HEADER}: {stamp!r}") from None
        if abs(now - sent_at) > tolerance:
            raise InvalidWebhookSignatureError(
                f"Webhook timestamp is {abs(now - sent_at):.0f} s off (tolerance {tolerance} s)"
            )
        expected = compute_signature(secret, stamp, body)
        offered = [s.strip() for s in signatures.replace(" ", ",").split(",") if s.strip()]
        if not any(_same(candidate, expected) for candidate in offered):
            raise InvalidWebhookSignatureError("Webhook signature does not match")

    def unwrap(
        self,
        payload: bytes | str,
        headers: Mapping[str, str],
        *,
        auth: WebhookAuthConfig | None = None,
        signing_secret: str | None = None,
        tolerance_sec: float | None = None,
        now: float | None = None,
    ) -> WebhookEvent:
        """Verify a delivery (see `verify_signature`) and parse its body into a WebhookEvent.

        Raises:
            InvalidWebhookSignatureError: verification failed.
            HarkValidationError: the body is not a webhook event.
        """
        self.verify_signature(
            headers,
            body=payload,
            auth=auth,
            signing_secret=signing_secret,
            tolerance_sec=tolerance_sec,
            now=now,
        )
        try:
            return WebhookEvent.model_validate(json.loads(payload))
        except (ValueError, ValidationError) as exc:
            raise HarkValidationError(f"Not a webhook event: {exc}") from exc

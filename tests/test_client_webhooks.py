"""client.webhooks: custom-header and HMAC verification of deliveries (no server needed).

Signatures are computed here with hmac directly, independently of hark.client's own helper."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from hark.client import (
    Client,
    HarkValidationError,
    InvalidWebhookSignatureError,
    WebhookAuthConfig,
    WebhookEvent,
    WebhooksAPI,
    compute_signature,
)

BODY = json.dumps({"id": "0b3c6e1e-1f7a-4a51-9a53-1f0f3c1b2a11", "status": "completed"}).encode()
SECRET = "whsec_test"
NOW = 1_800_000_000


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"Hark-Timestamp": str(timestamp), "Hark-Signature": f"v1={digest.hexdigest()}"}


@pytest.fixture(autouse=True)
def no_webhook_env(monkeypatch):
    for name in ("HARK_WEBHOOK_SECRET", "HARK_WEBHOOK_HEADER", "HARK_WEBHOOK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_custom_header():
    hooks = Client(api_key="k", webhook_secret="s3cret").webhooks
    hooks.verify_signature({"X-Hark-Webhook-Secret": "s3cret"})
    hooks.verify_signature({"x-hark-webhook-secret": "s3cret"})  # names are case-insensitive
    for headers in ({}, {"X-Hark-Webhook-Secret": "wrong"}, {"X-Other": "s3cret"}):
        with pytest.raises(InvalidWebhookSignatureError):
            hooks.verify_signature(headers)
    event = hooks.unwrap(BODY, {"X-Hark-Webhook-Secret": "s3cret"})
    assert event == WebhookEvent(id="0b3c6e1e-1f7a-4a51-9a53-1f0f3c1b2a11", status="completed")

    custom = WebhooksAPI(webhook_secret="v", webhook_header="Authorization")
    custom.verify_signature({"authorization": "v"})
    explicit = WebhookAuthConfig(name="X-Token", value="t")
    custom.verify_signature({"X-Token": "t"}, auth=explicit)
    with pytest.raises(InvalidWebhookSignatureError):
        custom.verify_signature({"authorization": "v"}, auth=explicit)


def test_environment_and_webhook_payload(monkeypatch):
    hooks = WebhooksAPI()
    hooks.verify_signature({})  # nothing configured: nothing to check (as in the Soniox SDK)
    assert hooks.webhook_payload("https://x/h") == {"webhook_url": "https://x/h"}
    monkeypatch.setenv("HARK_WEBHOOK_SECRET", "from-env")
    monkeypatch.setenv("HARK_WEBHOOK_HEADER", "X-Env")
    assert hooks.webhook_payload("https://x/h") == {
        "webhook_url": "https://x/h",
        "webhook_auth_header_name": "X-Env",
        "webhook_auth_header_value": "from-env",
    }
    with pytest.raises(InvalidWebhookSignatureError):
        hooks.verify_signature({"X-Env": "other"})
    monkeypatch.delenv("HARK_WEBHOOK_HEADER")
    hooks.verify_signature({"X-Hark-Webhook-Secret": "from-env"})  # the default header name


def test_hmac_signature():
    hooks = Client(api_key="k", webhook_signing_secret=SECRET).webhooks
    hooks.verify_signature(sign(BODY, NOW), body=BODY, now=NOW)
    hooks.verify_signature(sign(BODY, NOW), body=BODY.decode(), now=NOW + 299)
    assert hooks.unwrap(BODY, sign(BODY, NOW), now=NOW).status == "completed"
    assert compute_signature(SECRET, NOW, BODY) == sign(BODY, NOW)["Hark-Signature"]

    rotated = sign(BODY, NOW)
    rotated["Hark-Signature"] = "v1=" + "0" * 64 + ", " + rotated["Hark-Signature"]
    hooks.verify_signature(rotated, body=BODY, now=NOW)  # any listed signature may match

    bad_cases = {
        "tampered body": (sign(BODY, NOW), BODY.replace(b"completed", b"error")),
        "other secret": (sign(BODY, NOW, "other"), BODY),
        "replayed": (sign(BODY, NOW - 301), BODY),
        "from the future": (sign(BODY, NOW + 301), BODY),
        "unsigned": ({}, BODY),
        "bad timestamp": ({**sign(BODY, NOW), "Hark-Timestamp": "soon"}, BODY),
        "timestamp swapped": ({**sign(BODY, NOW), "Hark-Timestamp": str(NOW + 1)}, BODY),
        "truncated signature": (
            {"Hark-Timestamp": str(NOW), "Hark-Signature": sign(BODY, NOW)["Hark-Signature"][:3]},
            BODY,
        ),
    }
    for name, (headers, body) in bad_cases.items():
        with pytest.raises(InvalidWebhookSignatureError):
            hooks.verify_signature(headers, body=body, now=NOW)
            pytest.fail(name)
    with pytest.raises(HarkValidationError, match="raw webhook body"):
        hooks.verify_signature(sign(BODY, NOW), now=NOW)
    # A wider tolerance accepts an older delivery.
    hooks.verify_signature(sign(BODY, NOW - 600), body=BODY, now=NOW, tolerance_sec=601)


def test_both_checks_and_env_signing_secret(monkeypatch):
    monkeypatch.setenv("HARK_WEBHOOK_SIGNING_SECRET", SECRET)
    hooks = WebhooksAPI(webhook_secret="hdr")
    headers = {"X-Hark-Webhook-Secret": "hdr", **sign(BODY, NOW)}
    assert hooks.unwrap(BODY, headers, now=NOW).id.startswith("0b3c")
    with pytest.raises(InvalidWebhookSignatureError):
        hooks.unwrap(BODY, {"X-Hark-Webhook-Secret": "hdr"}, now=NOW)
    with pytest.raises(InvalidWebhookSignatureError):
        hooks.unwrap(BODY, sign(BODY, NOW), now=NOW)


def test_unwrap_rejects_bodies_that_are_not_events():
    hooks = WebhooksAPI()
    for body in (b"not json", b'{"id": "x", "status": "queued"}', b'{"status": "completed"}'):
        with pytest.raises(HarkValidationError, match="Not a webhook event"):
            hooks.unwrap(body, {})
    assert hooks.unwrap('{"id": "x", "status": "error", "extra": 1}', {}).status == "error"

"""Webhooks, delivered to a real HTTP receiver process: custom header, HMAC signature,
retries with backoff, and persistence across a restart of `hark serve`."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import signal
import time

import pytest
from soniox import SonioxClient
from soniox.errors import InvalidWebhookSignatureError

from support import (
    JFK,
    WEBHOOK_SECRET,
    assert_error,
    create_job,
    start_server,
    upload,
    wait_for,
)

AUTH_VALUE = "hook-auth-" + secrets.token_hex(6)


def hooked_job(
    api, webserver, name: str, script: str = "", hang: str = "", **body
) -> tuple[dict, str]:
    """Run a job on jfk.flac with a webhook to /hook/<name>; return the job and hook path."""
    path = f"/hook/{name}-{secrets.token_hex(4)}"
    query = "&".join(f"{k}={v}" for k, v in (("script", script), ("hang", hang)) if v)
    url = webserver.url(path + (f"?{query}" if query else ""))
    file = upload(api, JFK)
    job = wait_for(api, create_job(api, file["id"], webhook_url=url, **body)["id"])
    return job, path


def wait_for_status_code(api, job_id: str, expected: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/transcriptions/{job_id}").json()
        if job["webhook_status_code"] == expected:
            return job
        time.sleep(0.1)
    raise AssertionError(f"webhook_status_code never became {expected}: {job}")


def verify_hark_signature(request: dict, secret: str = WEBHOOK_SECRET) -> None:
    """What a receiver does with Hark-Timestamp and Hark-Signature (see README)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp = headers["hark-timestamp"]
    assert abs(int(timestamp) - time.time()) < 120  # fresh: replays can be refused
    message = f"{timestamp}.{request['body']}".encode()
    expected = "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["hark-signature"], expected)


def test_delivery_carries_custom_header_and_verifiable_signature(private_server, webserver):
    with private_server.client() as api:
        job, path = hooked_job(
            api,
            webserver,
            "signed",
            webhook_auth_header_name="X-Hook-Auth",
            webhook_auth_header_value=AUTH_VALUE,
        )
        assert job["status"] == "completed"
        (request,) = webserver.wait_for_requests(path, 1)
        assert json.loads(request["body"]) == {"id": job["id"], "status": "completed"}
        assert request["headers"]["X-Hook-Auth"] == AUTH_VALUE
        assert request["headers"]["Content-Type"] == "application/json"
        verify_hark_signature(request)
        with pytest.raises(AssertionError):
            verify_hark_signature(request, secret="not-the-secret")

        # The official SDK's receiver helper accepts the custom header ...
        sdk = SonioxClient(
            api_key="unused", webhook_secret=AUTH_VALUE, webhook_signature_header="X-Hook-Auth"
        )
        event = sdk.webhooks.unwrap(request["body"], request["headers"])
        assert (event.id, event.status) == (job["id"], "completed")
        wrong = SonioxClient(
            api_key="unused", webhook_secret="wrong", webhook_signature_header="X-Hook-Auth"
        )
        with pytest.raises(InvalidWebhookSignatureError):
            wrong.webhooks.unwrap(request["body"], request["headers"])

        # ... and the job records the receiver's answer, with the secret masked.
        shown = wait_for_status_code(api, job["id"], 200)
        assert set(shown["webhook_auth_header_value"]) == {"*"}
    assert AUTH_VALUE not in private_server.log()


def test_failed_job_is_delivered_with_status_error(private_server, webserver):
    path = f"/hook/failed-{secrets.token_hex(4)}"
    with private_server.client() as api:
        response = api.post("/files", files={"file": ("bad.mp3", b"not audio at all" * 100)})
        job = create_job(api, response.json()["id"], webhook_url=webserver.url(path))
        assert wait_for(api, job["id"])["status"] == "error"
        (request,) = webserver.wait_for_requests(path, 1)
    assert json.loads(request["body"]) == {"id": job["id"], "status": "error"}
    verify_hark_signature(request)


def test_retries_with_backoff_after_503(private_server, webserver):
    with private_server.client() as api:
        job, path = hooked_job(api, webserver, "retry", script="503,503")
        requests = webserver.wait_for_requests(path, 3)
        assert [r["answered"] for r in requests] == [503, 503, 200]
        # Base delay 0.5 s doubling, +-20% jitter: gaps of about 0.5 s, then about 1 s.
        gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(requests)]
        assert 0.35 < gaps[0] < 2.5, gaps
        assert gaps[1] > gaps[0] * 1.2, gaps
        # Every attempt is signed afresh; the body is the same.
        assert len({r["body"] for r in requests}) == 1
        for request in requests:
            verify_hark_signature(request)
        wait_for_status_code(api, job["id"], 200)
        time.sleep(1.5)
        assert len(webserver.requests(path)) == 3  # delivered: no more attempts


def test_client_errors_are_not_retried(private_server, webserver):
    with private_server.client() as api:
        job, path = hooked_job(api, webserver, "reject", script="400")
        webserver.wait_for_requests(path, 1)
        wait_for_status_code(api, job["id"], 400)
        time.sleep(2.5)  # several retry delays' worth
    assert len(webserver.requests(path)) == 1


def own_server(tmp_path, **settings: str):
    """A server of the test's own, to restart or kill, sending webhooks to loopback."""
    return start_server(
        tmp_path / "hark",
        api_key="hark_test_" + secrets.token_hex(8),
        allow_private_urls="true",
        **settings,
    )


def test_delivery_survives_a_restart_mid_backoff(tmp_path, webserver):
    server = own_server(tmp_path, webhook_retry_base_seconds="4")
    try:
        with server.client() as api:
            job, path = hooked_job(api, webserver, "restart", script="503")
            webserver.wait_for_requests(path, 1)
            wait_for_status_code(api, job["id"], 503)
        server.stop()  # the retry is due in about 4 s; nothing in memory survives this
        server.start()
        requests = webserver.wait_for_requests(path, 2, timeout=60)
        assert [r["answered"] for r in requests] == [503, 200]
        assert requests[0]["body"] == requests[1]["body"]
        with server.client() as api:
            wait_for_status_code(api, job["id"], 200)
    finally:
        server.stop()


def test_a_delivery_cut_off_by_kill_9_is_retried_at_restart(tmp_path, webserver):
    """The sender was killed mid-attempt: its lease (here 3 x 20 s + 30 s) would keep the
    delivery back for 90 s; the restarted server sees the lease's holder is gone and
    retries at once."""
    server = own_server(tmp_path, webhook_timeout="20")
    try:
        with server.client() as api:
            job, path = hooked_job(api, webserver, "killed", script="200", hang="15")
            webserver.wait_for_requests(path, 1)
        server.stop(signal.SIGKILL)  # mid-attempt: the receiver is still holding the request
        killed_at = time.time()
        server.start()
        requests = webserver.wait_for_requests(path, 2, timeout=60)
        assert requests[1]["time"] - killed_at < 30, "retried when the lease ran out"
        assert requests[0]["body"] == requests[1]["body"]
        assert "retrying 1 webhook deliveries a stopped process was sending" in server.log()
        with server.client() as api:
            wait_for_status_code(api, job["id"], 200, timeout=60)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/hook/x", "http://169.254.169.254/hook", "http://[::1]:9/hook"],
)
def test_private_webhook_urls_are_refused_up_front(api, webserver, url):
    file = upload(api, JFK)
    body = {"model": "stt-async-v5", "file_id": file["id"]}
    body["webhook_url"] = url.format(port=webserver.port)
    error = assert_error(api.post("/transcriptions", json=body), 400, "url_not_allowed")
    assert "HARK_ALLOW_PRIVATE_URLS" in error["message"]
    assert error["validation_errors"][0]["location"] == "body.webhook_url"


@pytest.mark.parametrize(
    ("name", "value", "location"),
    [
        ("Host", "evil.example", "webhook_auth_header_name"),
        ("Hark-Signature", "v1=forged", "webhook_auth_header_name"),
        ("X Bad", "v", "webhook_auth_header_name"),
        ("X-Auth", "s\u00e9cret", "webhook_auth_header_value"),
        ("X-Auth", "a\r\nX-Injected: 1", "webhook_auth_header_value"),
    ],
)
def test_unusable_webhook_headers_are_refused(api, name, value, location):
    body = {
        "model": "stt-async-v5",
        "file_id": upload(api, JFK)["id"],
        "webhook_url": "https://hooks.example/x",
        "webhook_auth_header_name": name,
        "webhook_auth_header_value": value,
    }
    error = assert_error(api.post("/transcriptions", json=body), 400)
    assert error["validation_errors"][0]["location"] == f"body.{location}"


def test_a_cancelled_job_sends_its_webhook(private_server, webserver):
    """Cancelling (POST /v1/transcriptions/{id}/cancel) ends the job like any failure,
    webhook included."""
    with private_server.client() as api:
        busy = create_job(api, upload(api, JFK)["id"])  # the worker is on this one
        path = f"/hook/cancel-{secrets.token_hex(4)}"
        queued = create_job(api, upload(api, JFK)["id"], webhook_url=webserver.url(path))
        assert api.post(f"/transcriptions/{queued['id']}/cancel").status_code == 200
        delivered = webserver.wait_for_requests(path, 1)[0]
        assert json.loads(delivered["body"]) == {"id": queued["id"], "status": "error"}
        verify_hark_signature(delivered)
        assert wait_for(api, busy["id"])["status"] == "completed"

"""The client against server features beyond plain uploads: temporary API keys,
Idempotency-Key replay, audio_url jobs (and the CLI transcribing a URL) and verified webhook
deliveries. The server gets HARK_ALLOW_PRIVATE_URLS=true (to fetch from 127.0.0.1) and a
webhook signing secret for the signature check."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jiwer
import pytest

from hark.client import HarkConflictError, WebhookAuthConfig
from support import JFK, normalize, start_server
from support.sdk_harness import open_client
from support.subtitle_parsing import check_cues, parse_srt

SIGNING_SECRET = "issue3-signing-secret"
JFK_TEXT = normalize(JFK.with_suffix(".txt").read_text())


class Site:
    """A loopback HTTP server: serves JFK at /jfk.flac and records POSTed webhooks."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jfk.flac":
                    self.send_error(404)
                    return
                data = JFK.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "audio/flac")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                site.deliveries.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for_delivery(self, timeout: float = 30) -> tuple[dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while not self.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.deliveries, "no webhook delivery arrived"
        return self.deliveries[-1]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site():
    site = Site()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def url_server(tmp_path_factory):
    srv = start_server(
        tmp_path_factory.mktemp("issue3"),
        api_key="hark_test_" + uuid.uuid4().hex[:16],
        allow_private_urls="true",
        webhook_signing_secret=SIGNING_SECRET,
    )
    yield srv
    srv.stop()


@pytest.fixture(params=["sync", "async"])
def sdk(request, url_server):
    client, close = open_client(
        request.param,
        api_key=url_server.api_key,
        api_base_url=url_server.base_url,
        webhook_secret="hook-secret",
        webhook_signing_secret=SIGNING_SECRET,
    )
    yield client
    close()


def test_temporary_api_key(sdk):
    key = sdk.auth.create_temporary_api_key(
        usage_type="transcribe_websocket", expires_in_seconds=60, client_reference_id="tmp"
    )
    assert key.api_key and key.api_key != sdk.raw.api_key
    remaining = key.expires_at.timestamp() - time.time()
    assert 0 < remaining <= 61
    assert sdk.auth.create_temporary_api_key(single_use=True, max_session_duration_seconds=60)


def test_idempotency_key_replay(sdk):
    key = str(uuid.uuid4())
    first = sdk.files.upload(JFK, idempotency_key=key)
    assert sdk.files.upload(JFK, idempotency_key=key).id == first.id
    job_key = str(uuid.uuid4())
    job = sdk.stt.create(file_id=first.id, idempotency_key=job_key)
    assert sdk.stt.create(file_id=first.id, idempotency_key=job_key).id == job.id
    with pytest.raises(HarkConflictError) as info:
        sdk.stt.create(file_id=first.id, model="stt-async-v3", idempotency_key=job_key)
    assert info.value.error_type == "idempotency_key_reused"
    sdk.stt.wait(job.id, interval_sec=0.2, timeout_sec=120)
    sdk.stt.destroy(job.id)


def test_audio_url_jobs(sdk, site):
    job = sdk.stt.transcribe_from_url(audio_url=f"{site.url}/jfk.flac")
    assert job.audio_url == f"{site.url}/jfk.flac" and job.filename
    done = sdk.stt.wait(job.id, interval_sec=0.2, timeout_sec=120)
    assert done.status == "completed", done.error_message
    assert jiwer.wer(JFK_TEXT, normalize(sdk.stt.get_transcript(job.id).text)) <= 0.10
    transcript = sdk.stt.transcribe_and_wait_with_tokens(
        audio_url=f"{site.url}/jfk.flac", delete_after=True, wait_interval_sec=0.2
    )
    assert jiwer.wer(JFK_TEXT, normalize(transcript.text)) <= 0.10
    sdk.stt.delete(job.id)


def test_webhook_delivery_verifies(sdk, site):
    site.deliveries.clear()
    job = sdk.stt.transcribe_file_with_webhook(
        file=JFK, webhook_url=f"{site.url}/hook", client_reference_id="hooked"
    )
    assert job.webhook_auth_header_name == "X-Hark-Webhook-Secret"
    assert job.webhook_auth_header_value != "hook-secret"  # masked by the server
    headers, body = site.wait_for_delivery()
    event = sdk.raw.webhooks.unwrap(body, headers)  # header and HMAC signature both checked
    assert event.id == job.id and event.status == "completed"
    # The server records the receiver's answer just after the receiver has seen the request.
    deadline = time.monotonic() + 10
    while sdk.stt.get(job.id).webhook_status_code is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sdk.stt.get(job.id).webhook_status_code == 200

    site.deliveries.clear()
    custom = WebhookAuthConfig(name="X-Custom", value="custom-value")
    job = sdk.stt.transcribe_file_with_webhook(
        file=JFK, webhook_url=f"{site.url}/hook", webhook_auth=custom
    )
    headers, body = site.wait_for_delivery()
    assert sdk.raw.webhooks.unwrap(body, headers, auth=custom).id == job.id
    sdk.stt.destroy(job.id)


def test_cli_transcribes_a_url(url_server, site, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    out = tmp_path / "url.srt"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "hark.cli", "transcribe", f"{site.url}/jfk.flac"),
            *("--format", "srt", "-o", str(out), "--api-key", url_server.api_key),
            *("--base-url", url_server.base_url),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    check_cues(parse_srt(out.read_text()))

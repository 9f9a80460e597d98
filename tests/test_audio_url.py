"""audio_url jobs: fetched by the worker from a real local HTTP server, within limits, and
never from addresses the operator has not allowed."""

from __future__ import annotations

import secrets
import signal
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from hark.engine import SAMPLE_RATE
from support import (
    JFK,
    assert_error,
    create_job,
    normalize,
    start_server,
    upload,
    wait_for,
)
from support.media import write_wav

JFK_PATH = "/audio/misc/jfk.flac"


def submit_url(client, audio_url: str, **body) -> str:
    response = client.post(
        "/transcriptions", json={"model": "stt-async-v5", "audio_url": audio_url, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def url_job(client, audio_url: str, **body) -> dict:
    return wait_for(client, submit_url(client, audio_url, **body))


@pytest.fixture
def one_slot_server(tmp_path):
    """One engine slot in all: one worker thread, one job in flight per project."""
    srv = start_server(
        tmp_path / "hark",
        api_key="hark_test_" + secrets.token_hex(8),
        allow_private_urls="true",
        workers="1",
        batch_jobs="1",
        max_jobs_in_flight_per_project="1",
    )
    yield srv
    srv.stop()


def test_audio_url_is_fetched_and_transcribed(private_server, webserver):
    with private_server.client() as api:
        job = url_job(api, webserver.url(JFK_PATH + "?token=abc"))
        assert job["status"] == "completed", job
        assert job["audio_url"] == webserver.url(JFK_PATH + "?token=abc")
        assert job["filename"] == "jfk.flac"  # from the URL path, query left out
        assert job["file_id"] is None
        assert job["audio_duration_ms"] == pytest.approx(11_000, abs=100)
        text = normalize(api.get(f"/transcriptions/{job['id']}/transcript").json()["text"])
        assert "ask not what your country can do for you" in text
        # Fetched audio is scratch space: nothing is left behind, and no file was created.
        assert not list((private_server.data_dir / "downloads").rglob("*.download"))
        assert api.get("/files/count").json()["total"] == 0


def test_a_slow_download_holds_no_engine_slot(one_slot_server, webserver):
    """A job whose audio_url server stalls mid-download does not hold up a job from a local
    file, though the only engine slot (and the project's in-flight cap) would be free for
    just one of them: downloads happen before a job takes engine capacity."""
    key = secrets.token_hex(4)
    with one_slot_server.client() as api:
        held = submit_url(api, webserver.url(f"/held/{key}/misc/jfk.flac"))
        webserver.wait_for_requests(f"/held/{key}", 1)  # half the audio sent, then a stall
        local = wait_for(api, create_job(api, upload(api, JFK)["id"])["id"], timeout=60)
        assert local["status"] == "completed", local
        assert api.get(f"/transcriptions/{held}").json()["status"] == "queued"
        httpx.get(webserver.url(f"/release/{key}"), timeout=10)
        job = wait_for(api, held, timeout=60)
        assert job["status"] == "completed", job
        text = normalize(api.get(f"/transcriptions/{held}/transcript").json()["text"])
        assert "ask not what your country can do for you" in text
    # The fetched audio is stored only until its job is done: the upload alone is left.
    assert len(one_slot_server.stored_blobs()) == 1


def test_a_restart_mid_download_fetches_again(one_slot_server, webserver):
    key = secrets.token_hex(4)
    with one_slot_server.client() as api:
        held = submit_url(api, webserver.url(f"/held/{key}/misc/jfk.flac"))
        webserver.wait_for_requests(f"/held/{key}", 1)
        one_slot_server.stop(signal.SIGKILL)
        one_slot_server.start()
        # The restarted server knows the download's holder is gone: it fetches again at
        # once (not when the lease runs out), and the job completes.
        webserver.wait_for_requests(f"/held/{key}", 2, timeout=30)
        httpx.get(webserver.url(f"/release/{key}"), timeout=10)
        job = wait_for(api, held, timeout=60)
        assert job["status"] == "completed", job
        assert job["audio_duration_ms"] == pytest.approx(11_000, abs=100)


def test_redirects_are_followed_up_to_the_limit(private_server, webserver):
    target = webserver.url(JFK_PATH)
    with private_server.client() as api:
        assert url_job(api, webserver.url("/redirect?to=" + quote(target)))["status"] == "completed"
        url = target
        for _ in range(6):  # one more hop than the default limit of 5
            url = webserver.url("/redirect?to=" + quote(url, safe=""))
        job = url_job(api, url)
        assert (job["status"], job["error_type"]) == ("error", "audio_url_too_many_redirects")
        assert "more than 5" in job["error_message"]


@pytest.mark.parametrize(
    ("path", "error_type", "message"),
    [
        ("/status/404", "audio_url_http_error", "HTTP 404"),
        ("/status/503", "audio_url_http_error", "HTTP 503"),
        ("/page", "audio_url_not_audio", "text/html"),
        ("/big", "audio_url_too_large", "4194304-byte limit"),
        ("/slow", "audio_url_timeout", "longer than 3 s"),
        ("/trickle", "audio_url_timeout", "longer than 3 s"),
        ("/audio/MANIFEST.md", "audio_decode_error", "could not be read"),
    ],
)
def test_fetch_failures_end_the_job_with_a_specific_error(
    private_server, webserver, path, error_type, message
):
    with private_server.client() as api:
        job = url_job(api, webserver.url(path))
    assert (job["status"], job["error_type"]) == ("error", error_type), job
    assert message in job["error_message"]


def test_unreachable_host_and_long_audio(private_server, webserver, tmp_path):
    with private_server.client() as api:
        job = url_job(api, "http://127.0.0.1:9/nothing-listens-here.mp3")
        assert (job["status"], job["error_type"]) == ("error", "audio_url_unreachable"), job
        # The duration limit (15 s on this server) is checked when processing starts.
        long_wav = write_wav(np.zeros(20 * SAMPLE_RATE, np.float32), tmp_path / "long.wav")
        with long_wav.open("rb") as f:
            file = api.post("/files", files={"file": ("long.wav", f)}).json()
        job = wait_for(api, create_job(api, file["id"])["id"])
        assert (job["status"], job["error_type"]) == ("error", "audio_too_long"), job
        assert job["error_message"] == "The audio is 20 s long; the maximum is 15 s."
        assert job["audio_duration_ms"] == 20_000


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}" + JFK_PATH, "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}" + JFK_PATH, "is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.7/a.mp3", "10.0.0.7 is a private address"),
        ("http://100.64.0.1/a.mp3", "100.64.0.1 is a private address"),
        ("http://[fd00::1]/a.mp3", "fd00::1 is a private address"),
        ("http://[::ffff:127.0.0.1]/a.mp3", "is a loopback address"),
        ("http://224.0.0.1/a.mp3", "224.0.0.1 is a multicast address"),
        ("http://[64:ff9b::7f00:1]/a.mp3", "is a loopback address"),  # NAT64
        ("http://[2002:a9fe:a9fe::]/a.mp3", "is a link-local address"),  # 6to4
        ("http://[::a00:1]/a.mp3", "is a private address"),  # IPv4-compatible 10.0.0.1
    ],
)
def test_private_destinations_are_refused_by_default(api, webserver, url, reason):
    job = url_job(api, url.format(port=webserver.port))
    # Issue 19: refused exactly like an unreachable host (the reason is in the log only).
    assert (job["status"], job["error_type"]) == ("error", "audio_url_unreachable"), job
    assert reason not in job["error_message"]


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}" + JFK_PATH, "http://169.254.169.254/latest/meta-data/"]
)
def test_a_redirect_cannot_smuggle_in_a_forbidden_address(api, webserver, target):
    # 127.0.0.2 is allowed on the shared server (HARK_ALLOWED_PRIVATE_NETWORKS), so the first
    # hop is fetched; the hop it redirects to is checked again and refused.
    allowed = webserver.url(JFK_PATH, host="127.0.0.2")
    assert url_job(api, allowed)["status"] == "completed"
    redirect = webserver.url(
        "/redirect?to=" + quote(target.format(port=webserver.port), safe=""), host="127.0.0.2"
    )
    job = url_job(api, redirect)
    assert (job["status"], job["error_type"]) == ("error", "audio_url_unreachable"), job


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "http://example.com:abc/a.mp3", "http://[::1/a", "http:///a"]
)
def test_malformed_audio_urls_are_refused(api, url):
    body = {"model": "stt-async-v5", "audio_url": url}
    error = assert_error(api.post("/transcriptions", json=body), 400)
    assert error["validation_errors"][0]["location"] == "body.audio_url"


def test_audio_url_needs_exactly_one_source(api):
    body = {"model": "stt-async-v5", "audio_url": "https://x/a.mp3", "file_id": "y"}
    assert "exactly one" in assert_error(api.post("/transcriptions", json=body), 400)["message"]

"""Hardening (issue 19): each finding of the security review, proven against a real
`hark serve` (HTTP, WebSocket and gRPC) or, for pure functions, directly."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from websockets.sync.client import connect

from hark.api.grpc import speech_service_pb2 as pb
from hark.api.grpc.speech_service_pb2_grpc import SpeechServiceStub
from hark.settings import Settings, mask_url
from support import (
    JFK,
    Server,
    assert_error,
    create_job,
    eventually,
    hark_env,
    send_frames,
    start_server,
    transcribe,
    upload,
    wait_for,
)
from support.services import free_port
from test_webhooks import verify_hark_signature

INCORRECT_KEY = "Incorrect API key provided"
GRPC_AUTH_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers (nothing here needs the model), with the gRPC port on and a
    short deadline for a stream's first message."""
    srv = start_server(
        tmp_path_factory.mktemp("hark-hardening"),
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",
        grpc_port=str(free_port()),
        grpc_auth_timeout=str(GRPC_AUTH_TIMEOUT),
        allow_private_urls="true",
        max_outstanding_upload_urls="10",
    )
    yield srv
    srv.stop()


# -- item 8: authentication details ------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer hark_wrong_key_0123456789"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "malformed"],
)
def test_bad_keys_get_sonioxs_authentication_error(hardened, headers):
    response = httpx.get(hardened.base_url + "/files", headers=headers, timeout=30)
    body = assert_error(response, 401, "unauthenticated")
    assert body["message"].startswith(INCORRECT_KEY + ". "), body


def test_webhook_auth_value_is_always_the_fixed_mask(hardened):
    with hardened.client() as api:
        for value in ("x", "a" * 200):
            response = api.post(
                "/transcriptions",
                json={
                    "model": "stt-async-v5",
                    "audio_url": "http://127.0.0.1:1/a.wav",
                    "webhook_url": "http://127.0.0.1:1/hook",
                    "webhook_auth_header_name": "X-Auth",
                    "webhook_auth_header_value": value,
                },
            )
            assert response.status_code == 201, response.text
            assert response.json()["webhook_auth_header_value"] == "******************"
            shown = api.get(f"/transcriptions/{response.json()['id']}").json()
            assert shown["webhook_auth_header_value"] == "******************"
            api.delete(f"/transcriptions/{response.json()['id']}")


def test_every_secret_setting_is_a_secret_type():
    settings = Settings(
        api_key="hark_settings_key_0123456789",
        s3_secret_access_key="s3-secret-value",
        webhook_signing_secret="whsec-value",
    )
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("hark_settings_key_0123456789", "s3-secret-value", "whsec-value"):
        assert secret not in shown
    assert settings.api_key.get_secret_value() == "hark_settings_key_0123456789"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("redis://:s3cret@redis:6379/0", "s3cret"),
        ("postgresql+psycopg://hark:p@ss@db/hark", "p@ss"),
        ("postgresql://hark:pa/ss:w@db:5432/hark", "pa/ss:w"),
        ("postgresql://hark@db/hark?password=s3cret&sslmode=require", "s3cret"),
        ("postgresql://db/hark?sslmode=require&sslpassword=k3y", "k3y"),
        ("s3://bucket/x?secret_access_key=AKIAsecret", "AKIAsecret"),
        ("could not connect to redis://u:t0k@n@host:1: refused", "t0k@n"),
    ],
)
def test_url_credentials_are_masked_in_every_form(url, secret):
    masked = mask_url(url)
    assert secret not in masked, masked
    assert "****" in masked


def test_readyz_names_failing_checks_without_detail_unless_asked_with_a_key(hardened):
    root = f"http://127.0.0.1:{hardened.port}"
    partial = hardened.data_dir / "files" / ".partial"
    shutil.rmtree(partial)
    try:
        anonymous = httpx.get(root + "/readyz", timeout=30)
        assert anonymous.status_code == 503
        assert anonymous.json()["checks"] == {
            "database": "ok",
            "storage": "error",
            "broker": "ok",
        }
        assert str(hardened.data_dir) not in anonymous.text
        wrong = httpx.get(root + "/readyz", headers={"Authorization": "Bearer nope"}, timeout=30)
        assert wrong.json() == anonymous.json()
        headers = {"Authorization": f"Bearer {hardened.api_key}"}
        detailed = httpx.get(root + "/readyz", headers=headers, timeout=30)
        assert detailed.status_code == 503
        assert "not writable" in detailed.json()["checks"]["storage"]
    finally:
        partial.mkdir(mode=0o700)  # as Hark made it
    assert httpx.get(root + "/readyz", timeout=30).status_code == 200


def test_idle_grpc_streams_cannot_stall_the_server(hardened):
    """More idle upload streams than the server has threads: each is cut off when its first
    message does not arrive in time, and other calls still get through."""
    channel = grpc.insecure_channel(f"127.0.0.1:{hardened.env['HARK_GRPC_PORT']}")
    stub = SpeechServiceStub(channel)
    release = threading.Event()

    def silent() -> Iterator[pb.TranscribeAsyncRequest]:
        release.wait(60)
        return
        yield  # a generator that sends nothing until released

    idle = [stub.TranscribeAsync.future(silent(), timeout=60) for _ in range(40)]
    try:
        time.sleep(0.5)
        started = time.monotonic()
        status = stub.GetTranscribeAsyncStatus(
            pb.GetTranscribeAsyncStatusRequest(api_key=hardened.api_key), timeout=30
        )
        assert status is not None
        assert time.monotonic() - started < 15
        for call in idle:
            with pytest.raises(grpc.RpcError) as cut:
                call.result(timeout=30)
            assert cut.value.code() == grpc.StatusCode.CANCELLED, cut.value
    finally:
        release.set()
        channel.close()


def test_websocket_authenticates_before_taking_audio(hardened):
    url = f"ws://127.0.0.1:{hardened.port}/transcribe-websocket"
    headers = {"Authorization": "Bearer hark_wrong_key_0123456789"}
    with connect(url, additional_headers=headers, open_timeout=30) as ws:
        send_frames(ws, b"\x00\x01" * 8000)  # audio before any config, with a bad key
        error = json.loads(ws.recv(timeout=30))
    assert error["error_code"] == 401
    assert error["error_message"].startswith(INCORRECT_KEY)


def test_raw_streams_of_too_many_channels_are_refused(hardened):
    """Item 2: a raw realtime stream and a legacy gRPC upload of more than 8 channels are
    refused with a clear error before any audio is taken."""
    url = f"ws://127.0.0.1:{hardened.port}/transcribe-websocket"
    config = {"api_key": hardened.api_key, "model": "stt-rt-v5", "audio_format": "pcm_s16le"}
    with connect(url, open_timeout=30) as ws:
        ws.send(json.dumps({**config, "sample_rate": 16000, "num_channels": 9}))
        error = json.loads(ws.recv(timeout=30))
    assert error["error_code"] == 400 and error["error_type"] == "too_many_channels", error
    assert "at most 8" in error["error_message"]

    from hark.api.grpc.messages import raw_format

    wide = pb.TranscriptionConfig(
        audio_format="pcm_s16le", sample_rate_hertz=16000, num_audio_channels=9
    )
    with pytest.raises(Exception, match="at most 8"):
        raw_format(wide)
    narrow = pb.TranscriptionConfig(
        audio_format="pcm_s16le", sample_rate_hertz=16000, num_audio_channels=8
    )
    assert raw_format(narrow) == "pcm_s16le"


def unchecked_cli(srv: Server, *args: str) -> subprocess.CompletedProcess:
    """`hark <args>` on the server's data directory, however it ends."""
    command = [sys.executable, "-m", "hark.cli", *args[:2], "--data-dir", str(srv.data_dir)]
    return subprocess.run([*command, *args[2:]], env=srv.env, capture_output=True, text=True)


def test_an_empty_invox_secret_is_refused(hardened):
    hardened.hark("keys", "invox-secret", "--set", "callback-secret-1")
    refused = unchecked_cli(hardened, "keys", "invox-secret", "--set", "")
    assert refused.returncode == 2, refused
    assert "empty" in refused.stderr
    assert hardened.hark("keys", "invox-secret").stdout.strip() == "callback-secret-1"


# -- item 6: tenants -----------------------------------------------------------------------

SERVER_SECRET = "whsec_server_" + secrets.token_hex(6)
GARBAGE = b"not audio at all " * 64  # decodes to nothing: its job ends at once (in error)


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that allows no private address by default and signs webhooks with a
    server-wide secret; projects get their own exceptions and secrets from the CLI."""
    srv = start_server(
        tmp_path_factory.mktemp("hark-tenants"),
        api_key="hark_test_" + secrets.token_hex(8),
        webhook_signing_secret=SERVER_SECRET,
        webhook_retry_base_seconds="0.5",
        audit_log=str(tmp_path_factory.mktemp("audit") / "audit.jsonl"),
    )
    yield srv
    srv.stop()


def project_client(srv: Server, project: str, *private_networks: str) -> httpx.Client:
    """A client of a new project, which may reach `private_networks` (none: no exception)."""
    if private_networks:
        flags = [flag for network in private_networks for flag in ("--set", network)]
        srv.hark("keys", "private-networks", "--project", project, *flags)
    return srv.client(srv.new_key(project))


def failed_job(api: httpx.Client, **body: str) -> dict:
    """A job that fails at once (its audio is garbage), with `body`'s webhook settings."""
    file = api.post("/files", files={"file": ("bad.wav", GARBAGE)}).json()
    response = api.post(
        "/transcriptions", json={"model": "stt-async-v5", "file_id": file["id"], **body}
    )
    assert response.status_code == 201, response.text
    return wait_for(api, response.json()["id"])


def test_webhook_secrets_are_per_project(tenants, webserver):
    tenants.hark("keys", "webhook-secret", "--project", "alpha", "--set", "alpha-secret-1")
    shown = tenants.hark("keys", "webhook-secret", "--project", "alpha").stdout.strip()
    assert shown == "alpha-secret-1"
    refused = unchecked_cli(tenants, "keys", "webhook-secret", "--project", "alpha", "--set", " ")
    assert refused.returncode == 2 and "empty" in refused.stderr
    for project, secret in (("alpha", "alpha-secret-1"), ("beta", SERVER_SECRET)):
        path = f"/hook/{project}-{secrets.token_hex(4)}"
        with project_client(tenants, project, "127.0.0.1/32") as api:
            failed_job(api, webhook_url=webserver.url(path))
        (request,) = webserver.wait_for_requests(path, 1)
        verify_hark_signature(request, secret)


def test_private_url_exceptions_are_per_project(tenants, webserver):
    hook = {"webhook_url": webserver.url("/hook/exception-" + secrets.token_hex(4))}
    body = {"model": "stt-async-v5", "audio_url": webserver.url("/audio/misc/jfk.flac"), **hook}
    with project_client(tenants, "no-exception") as plain:
        refused = assert_error(plain.post("/transcriptions", json=body), 400, "url_not_allowed")
        assert "loopback" in refused["message"]
    with project_client(tenants, "with-exception", "127.0.0.0/8") as allowed:
        assert allowed.post("/transcriptions", json=body).status_code == 201


def test_forbidden_and_unreachable_targets_give_the_same_error(tenants, webserver):
    """Nothing tells a caller whether an address is off limits, closed or open: the internal
    network cannot be mapped through job errors."""
    with project_client(tenants, "prober", "127.0.0.2/32") as api:
        jobs = [
            wait_for(
                api,
                api.post(
                    "/transcriptions", json={"model": "stt-async-v5", "audio_url": url}
                ).json()["id"],
            )
            for url in (
                "http://127.0.0.2:9/closed.mp3",  # allowed, nothing listens
                "http://127.0.0.1:9/forbidden.mp3",  # forbidden, nothing listens
                webserver.url("/audio/misc/jfk.flac"),  # forbidden, something listens
                "http://10.255.255.1/forbidden.mp3",  # forbidden, private network
            )
        ]
    errors = {(job["status"], job["error_type"], job["error_message"]) for job in jobs}
    assert len(errors) == 1, errors
    ((status, error_type, message),) = errors
    assert (status, error_type) == ("error", "audio_url_unreachable")
    assert "127.0.0" not in message and "loopback" not in message


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:0:127.0.0.1",  # IPv4-translated (SIIT)
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "::ffff:7f00:1",  # IPv4-mapped
        "::7f00:1",  # IPv4-compatible
        "64:ff9b::a00:1",  # NAT64 well-known prefix
        "64:ff9b:1:a00:1::",  # NAT64 local-use prefix
        "2002:a00:1::",  # 6to4
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    ],
)
def test_private_addresses_inside_ipv6_are_refused(tenants, address):
    body = {"model": "stt-async-v5", "audio_url": "https://example.com/a.mp3"}
    body["webhook_url"] = f"http://[{address}]/hook"
    with project_client(tenants, "v6-embedding") as api:
        assert_error(api.post("/transcriptions", json=body), 400, "url_not_allowed")


def test_webhook_deliveries_carry_a_stable_delivery_id(tenants, webserver):
    path = f"/hook/dedup-{secrets.token_hex(4)}"
    with project_client(tenants, "dedup", "127.0.0.1/32") as api:
        failed_job(api, webhook_url=webserver.url(path + "?script=503,503"))
    requests = webserver.wait_for_requests(path, 3)
    ids = {r["headers"].get("Hark-Delivery-Id") for r in requests}
    assert len(ids) == 1 and None not in ids, ids


def test_deleting_a_transcription_deletes_its_deliveries(tenants, webserver):
    path = f"/hook/deleted-{secrets.token_hex(4)}"
    with project_client(tenants, "deleter", "127.0.0.1/32") as api:
        job = failed_job(api, webhook_url=webserver.url(path + "?script=" + ",".join(["503"] * 7)))
        webserver.wait_for_requests(path, 1)
        assert api.delete(f"/transcriptions/{job['id']}").status_code == 204
    with sqlite3.connect(tenants.data_dir / "hark.db") as db:
        left = db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE transcription_id = ?", (job["id"],)
        ).fetchone()[0]
    assert left == 0
    sent = len(webserver.requests(path))
    time.sleep(3)  # the next retries would have been due by now
    assert len(webserver.requests(path)) == sent


# -- item 1: hostile uploads ---------------------------------------------------------------

BOUNDARY = "hardening-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def peak_memory(srv: Server) -> int:
    """The server process's peak resident memory so far, in bytes."""
    assert srv.process is not None
    status = open(f"/proc/{srv.process.pid}/status").read()  # noqa: SIM115
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


def post_raw(srv: Server, body: Iterator[bytes] | bytes) -> httpx.Response | None:
    """POST a hand-made multipart body; None when the server hung up before reading it all
    (it answered early), which a client sending megabytes of junk may see."""
    headers = {**MULTIPART, "Authorization": f"Bearer {srv.api_key}"}
    try:
        return httpx.post(srv.base_url + "/files", content=body, headers=headers, timeout=60)
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_a_huge_part_header_gets_a_fast_400_and_memory_stays_flat(hardened):
    header = b"X-Padding: " + b"a" * (1 << 20)
    start = f"--{BOUNDARY}\r\n".encode() + header
    body = start + b'\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
    body += b"RIFF" + f"\r\n--{BOUNDARY}--\r\n".encode()
    started = time.monotonic()
    response = post_raw(hardened, body)
    assert response is not None
    error = assert_error(response, 400, "invalid_request")
    assert "header" in error["message"]
    assert time.monotonic() - started < 5

    before = peak_memory(hardened)

    def endless_header() -> Iterator[bytes]:
        yield start
        for _ in range(64):  # 64 MiB of one header line
            yield b"a" * (1 << 20)

    post_raw(hardened, endless_header())
    assert peak_memory(hardened) - before < 16 * 1024 * 1024


def test_ten_thousand_form_fields_get_a_fast_400(hardened):
    fields = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i % 2}"\r\n\r\nx\r\n'.encode()
        for i in range(10_000)
    )
    file_part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
    ).encode()
    started = time.monotonic()
    response = post_raw(hardened, fields + file_part + b"RIFF" + f"\r\n--{BOUNDARY}--\r\n".encode())
    assert response is not None
    error = assert_error(response, 400, "invalid_request")
    assert "fields" in error["message"]
    assert time.monotonic() - started < 5
    with hardened.client() as api:
        assert api.get("/files/count").json()["total"] == 0


def test_presigned_puts_hold_the_file_size_limit(hardened):
    project = "small-files"
    hardened.hark("limits", f"--project={project}", "--max-file-size=1000")
    with hardened.client(hardened.new_key(project)) as api:
        for declared in (True, False):
            url = api.post("/files/upload-url", json={"filename": "a.wav"}).json()["upload_url"]
            data = b"\0" * 5000
            content = data if declared else iter([data[:2500], data[2500:]])  # chunked
            response = httpx.put(url, content=content, timeout=60)
            assert_error(response, 413)
        assert api.get("/files/count").json()["total"] == 0


# -- item 4: process-safe start-up ---------------------------------------------------------


def slow_body(first: bytes, rest: bytes, started: threading.Event, go: threading.Event):
    """A request body that sends `first`, then waits for `go` before sending `rest`."""
    yield first
    started.set()
    go.wait(60)
    yield rest


def test_a_second_server_leaves_a_live_servers_uploads_and_jobs_alone(tmp_path):
    first = start_server(
        tmp_path / "shared", api_key="hark_test_" + secrets.token_hex(8), workers="0"
    )
    second = None
    try:
        with first.client() as api:
            job = api.post(
                "/transcriptions",
                json={"model": "stt-async-v5", "audio_url": "https://example.com/a.wav"},
            ).json()
        # A job another live process holds: its lease runs for an hour yet.
        with sqlite3.connect(first.data_dir / "hark.db") as db:
            db.execute(
                "UPDATE transcriptions SET status = 'processing', lease_owner = ?, "
                "lease_expires_at = datetime('now', '+1 hour') WHERE id = ?",
                ("elsewhere:1/abc", job["id"]),
            )
        # An upload streaming into the first server.
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        ).encode() + b"\0" * 65536
        tail = b"\0" * 65536 + f"\r\n--{BOUNDARY}--\r\n".encode()
        started, go = threading.Event(), threading.Event()
        result: dict = {}

        def send() -> None:
            result["response"] = post_raw(first, slow_body(head, tail, started, go))

        sender = threading.Thread(target=send)
        sender.start()
        assert started.wait(30)
        partial = first.data_dir / "files" / ".partial"  # written a moment after it starts
        eventually(lambda: list(partial.iterdir()), 30, "the upload never reached the server")

        second = Server(
            data_dir=first.data_dir, port=free_port(), api_key=first.api_key, env=first.env
        )
        second.env = {**first.env, "HARK_WORKERS": "1"}
        second.start()
        go.set()
        sender.join(60)
        response = result["response"]
        assert response is not None and response.status_code == 201, response
        with second.client() as api:
            assert api.get(f"/transcriptions/{job['id']}").json()["status"] == "processing"
        assert "re-queued" not in second.log()
    finally:
        if second is not None:
            second.stop()
        first.stop()


def test_an_upload_url_a_crash_left_receiving_works_again(tmp_path):
    srv = start_server(tmp_path / "crash", api_key="hark_test_" + secrets.token_hex(8), workers="0")
    try:
        with srv.client() as api:
            url = api.post("/files/upload-url", json={"filename": "a.wav"}).json()["upload_url"]
        started, go = threading.Event(), threading.Event()

        def put() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.put(url, content=slow_body(b"\0" * 65536, b"", started, go), timeout=60)

        sender = threading.Thread(target=put, daemon=True)
        sender.start()
        assert started.wait(30)
        time.sleep(0.5)
        srv.stop(signal.SIGKILL)  # mid-PUT
        go.set()
        srv.start()
        response = httpx.put(url, content=b"\0" * 1000, timeout=60)
        assert response.status_code == 201, response.text
    finally:
        srv.stop()


# -- item 9: the queue and the database under abuse ----------------------------------------


def test_bad_token_puts_do_not_wait_for_the_database_write_lock(hardened):
    with hardened.client() as api:
        url = api.post("/files/upload-url", json={"filename": "a.wav"}).json()["upload_url"]
    forged = url.split("token=")[0] + "token=forged"
    db = sqlite3.connect(hardened.data_dir / "hark.db", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a long while
        started = time.monotonic()
        for _ in range(5):
            assert_error(httpx.put(forged, content=b"x" * 100, timeout=10), 403)
        assert time.monotonic() - started < 5
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_requests_per_key_are_rate_limited(tmp_path):
    srv = start_server(
        tmp_path / "limited",
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",
        rate_limit_per_minute="5",
    )
    try:
        with srv.client() as api:
            for _ in range(5):
                assert api.get("/files").status_code == 200
            limited = api.get("/files")
            error = assert_error(limited, 429, "rate_limited")
            assert "5 requests per minute" in error["message"]
            assert 1 <= int(limited.headers["retry-after"]) <= 60
        with srv.client(srv.new_key("other")) as other:  # each key has its own allowance
            assert other.get("/files").status_code == 200
    finally:
        srv.stop()


def test_status_polls_count_against_the_rate_limit(tmp_path):
    """Polls answered ahead of FastAPI (api/status.py) count like any request, once each,
    a poll of an unknown job too (answered by the app)."""
    srv = start_server(
        tmp_path / "limited-polls",
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",  # the job stays queued
        rate_limit_per_minute="5",
    )
    try:
        with srv.client() as api:
            job = create_job(api, upload(api, JFK)["id"])  # requests 1 and 2
            assert_error(api.get("/transcriptions/no-such-job"), 404)  # 3
            for _ in range(2):  # 4 and 5, the key cached by now
                assert api.get(f"/transcriptions/{job['id']}").json()["status"] == "queued"
            limited = api.get(f"/transcriptions/{job['id']}")
            assert "5 requests per minute" in assert_error(limited, 429, "rate_limited")["message"]
            assert 1 <= int(limited.headers["retry-after"]) <= 60
    finally:
        srv.stop()


# -- item 7: transport and storage at rest -------------------------------------------------


def test_require_https_refuses_plain_http_urls(tmp_path):
    srv = start_server(
        tmp_path / "https-only",
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",
        require_https="true",
    )
    try:
        with srv.client() as api:
            for body in (
                {"audio_url": "http://example.com/a.mp3"},
                {"audio_url": "https://example.com/a.mp3", "webhook_url": "http://example.com/h"},
            ):
                response = api.post("/transcriptions", json={"model": "stt-async-v5", **body})
                error = assert_error(response, 400, "url_not_allowed")
                assert "https" in error["message"]
            secure = {"audio_url": "https://example.com/a.mp3", "webhook_url": "https://e.com/h"}
            assert api.post("/transcriptions", json={"model": "stt-async-v5", **secure}).is_success
    finally:
        srv.stop()


def self_signed(directory) -> tuple[str, str]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run([*request, *names, *files], check=True, capture_output=True)
    return str(cert), str(key)


def test_serve_terminates_tls_for_http_and_grpc(tmp_path):
    cert, key = self_signed(tmp_path)
    grpc_port = free_port()
    srv = Server(
        data_dir=tmp_path / "tls",
        port=free_port(),
        api_key="hark_test_" + secrets.token_hex(8),
        env=hark_env(
            "hark_tls_test_key_0123456789",
            workers="0",
            grpc_port=str(grpc_port),
            ssl_certfile=cert,
            ssl_keyfile=key,
        ),
    )
    srv.api_key = "hark_tls_test_key_0123456789"
    srv.launch()
    try:
        url = f"https://127.0.0.1:{srv.port}/v1/files"
        headers = {"Authorization": f"Bearer {srv.api_key}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(url, headers=headers, verify=cert, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and srv.process.poll() is None, srv.log()
                time.sleep(0.2)
        assert response.status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{srv.port}/v1/files", headers=headers, timeout=5)
        credentials = grpc.ssl_channel_credentials(open(cert, "rb").read())  # noqa: SIM115
        with grpc.secure_channel(f"127.0.0.1:{grpc_port}", credentials) as channel:
            status = SpeechServiceStub(channel).GetTranscribeAsyncStatus(
                pb.GetTranscribeAsyncStatusRequest(api_key=srv.api_key), timeout=30
            )
        assert list(status.files) == []
    finally:
        srv.stop()


def test_what_hark_writes_is_private_to_its_user(hardened):
    with hardened.client() as api:
        response = api.post("/files", files={"file": ("a.wav", b"RIFF" + b"\0" * 100)})
        assert response.status_code == 201
    data = hardened.data_dir
    paths = [data, *data.rglob("*")]
    assert paths
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))  # 0600 files, 0700 directories


def test_transcript_and_audio_reads_and_exports_are_audited(tenants):
    audit_log = Path(tenants.env["HARK_AUDIT_LOG"])
    with tenants.client() as api:
        job, transcript = transcribe(api, JFK)
        assert transcript is not None
        base = f"/transcriptions/{job['id']}"
        assert api.get(f"{base}/transcript?format=srt").status_code == 200
        assert api.get(f"{base}/export?format=docx").status_code == 200
        edit = {"tokens": {"0": transcript["tokens"][0]["text"]}}
        assert api.patch(f"{base}/transcript", json=edit).status_code == 200
        assert api.get(f"{base}/transcript/edits").status_code == 200
        assert api.get("/search", params={"q": "country"}).json()["hits"]
        assert api.get(f"/files/{job['file_id']}/audio").status_code == 200
        openai_door = api.post(
            "/audio/transcriptions",
            files={"file": ("jfk.flac", JFK.read_bytes())},
            data={"model": "whisper-1"},
            timeout=120,
        )
        assert "country" in openai_door.json()["text"]
    lines = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [line["action"] for line in lines if line["via"] == "openai"] == ["transcript.read"]
    mine = [line for line in lines if line["resource"] == job["id"]]
    assert [line["action"] for line in mine] == [
        "transcript.read",
        "transcript.export.srt",
        "transcript.download.docx",
        "transcript.edit",
        "transcript.edits.read",
        "transcript.search",
    ]
    audio = [line for line in lines if line["resource"] == job["file_id"]]
    assert [line["action"] for line in audio] == ["audio.read"]
    mine += audio
    for line in mine:
        assert line["key"] == "sha256:" + hashlib.sha256(tenants.api_key.encode()).hexdigest()[:8]
        assert line["via"] == "rest" and line["project"] and line["time"]
    assert "country" not in audit_log.read_text()  # never the content
    assert stat.S_IMODE(audit_log.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"s3_sse": "AES256"}, {"ServerSideEncryption": "AES256"}),
        (
            {"s3_sse": "aws:kms", "s3_sse_kms_key_id": "hark-test-key"},
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "hark-test-key"},
        ),
    ],
    ids=["sse-s3", "sse-kms"],
)
def test_s3_server_side_encryption_settings_reach_s3(services, tmp_path, settings, expected):
    """Small (one PUT) and large (multipart) objects are stored with the configured SSE."""
    from hark.blobs import S3Options, open_blob_store

    bucket = services.s3.create_bucket(services.new_name("hark-sse"))
    configured = Settings(
        storage_url=f"s3://{bucket}/audio",
        s3_endpoint_url=services.s3.endpoint,
        s3_region="us-east-1",
        s3_access_key_id=services.s3.access_key,
        s3_secret_access_key=services.s3.password,
        data_dir=tmp_path,
        **settings,
    )
    store = open_blob_store(
        configured.resolved_storage_url, tmp_path, S3Options.from_settings(configured)
    )
    client = services.s3.client()
    for size in (1000, 6 * 1024 * 1024):
        writer = store.open_writer(10**8)
        writer.write(b"\0" * size)
        key = writer.commit()
        head = client.head_object(Bucket=bucket, Key=f"audio/{key}")
        assert {name: head.get(name) for name in expected} == expected, head


def test_outstanding_upload_urls_are_capped_per_project(hardened):
    with hardened.client(hardened.new_key("many-urls")) as api:
        urls = [api.post("/files/upload-url", json={"filename": "a.wav"}) for _ in range(10)]
        assert all(response.status_code == 200 for response in urls)
        refused = api.post("/files/upload-url", json={"filename": "a.wav"})
        error = assert_error(refused, 400, "upload_url_limit_exceeded")
        assert "10" in error["message"]
        assert httpx.put(urls[0].json()["upload_url"], content=b"RIFF", timeout=60).is_success
        assert api.post("/files/upload-url", json={"filename": "a.wav"}).status_code == 200
    with hardened.client() as other:  # other projects are not affected
        assert other.post("/files/upload-url", json={"filename": "a.wav"}).status_code == 200

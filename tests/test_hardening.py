"""Hardening (issue 19): each finding of the security review, proven against a real
`hark serve` (HTTP, WebSocket and gRPC) or, for pure functions, directly."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest
from websockets.sync.client import connect

from conftest import Server, assert_error, start_server
from hark.api.grpc import speech_service_pb2 as pb
from hark.api.grpc.speech_service_pb2_grpc import SpeechServiceStub
from hark.settings import Settings, mask_url
from services import free_port

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
        partial.mkdir()
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
        ws.send(b"\x00\x01" * 8000)  # audio before any config, from a caller with a bad key
        error = json.loads(ws.recv(timeout=30))
    assert error["error_code"] == 401
    assert error["error_message"].startswith(INCORRECT_KEY)


def test_an_empty_invox_secret_is_refused(hardened):
    hardened.hark("keys", "invox-secret", "--set", "callback-secret-1")
    command = [sys.executable, "-m", "hark.cli", "keys", "invox-secret"]
    command += ["--data-dir", str(hardened.data_dir), "--set", ""]
    refused = subprocess.run(command, env=hardened.env, capture_output=True, text=True)
    assert refused.returncode == 2, refused
    assert "empty" in refused.stderr
    assert hardened.hark("keys", "invox-secret").stdout.strip() == "callback-secret-1"

"""The Invox Medical asynchronous API (CONTRACTS §3), driven with plain httpx the way the
vendor's docs show it: token -> pre-signed URL -> PUT the audio -> callback to a real
receiver (tests/webserver.py) and polling. Refusals use Invox's error shapes."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from support import DEV_CLEAN, REPO, Server, start_server

AUDIO = DEV_CLEAN / "1272-128104-0000.picovoice.wav"  # "Mister Quilter is the apostle ..."


class Invox:
    """One project's Invox credential on a server, and what its client would do."""

    def __init__(self, server: Server, project: str) -> None:
        self.server = server
        self.project = project
        created = json.loads(
            server.hark("keys", "create", "--invox", "--json", "--project", project).stdout
        )
        assert set(created) == {"app_id", "api_key"}
        self.app_id, self.api_key = created["app_id"], created["api_key"]
        self.base = f"http://127.0.0.1:{server.port}"

    @property
    def credentials(self) -> str:
        return base64.b64encode(f"{self.app_id}:{self.api_key}".encode()).decode()

    def secret(self) -> str:
        return self.server.hark("keys", "invox-secret", "--project", self.project).stdout.strip()

    def token(self) -> str:
        response = httpx.post(
            f"{self.base}/api/v1/auth/token",
            headers={"Authorization": f"Basic {self.credentials}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tokenType"] == "Bearer"
        return body["accessToken"]

    def post(self, path: str, body: dict, token: str | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.base}/api/v1/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token or self.token()}"},
            timeout=30,
        )

    def presign(self, mime_type: str = "audio/wav", token: str | None = None, **body) -> dict:
        response = self.post("generate-presigned-url", {"mimeType": mime_type, **body}, token)
        assert response.status_code == 200, response.text
        return response.json()

    def result(self, request_id: str, token: str | None = None) -> httpx.Response:
        return self.post("get-transcription", {"requestId": request_id}, token)

    def wait(self, request_id: str, timeout: float = 180) -> dict:
        token = self.token()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.result(request_id, token).json()
            if body["processingStatus"] != "PENDING":
                return body
            time.sleep(0.2)
        raise AssertionError(f"request {request_id} still pending after {timeout} s")


def put(url: str, data: bytes, content_type: str = "audio/wav") -> httpx.Response:
    return httpx.put(url, content=data, headers={"Content-Type": content_type}, timeout=60)


def assert_invox_error(response: httpx.Response, status: int, error_type: str | None) -> dict:
    """Invox's shapes: the message under both spellings; errorType except on 401."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"] and body["messsage"] == body["message"]
    if status == 401:
        assert "errorType" not in body
    else:
        assert body["errorType"] == error_type
    return body


def readme_verify() -> Callable[[bytes, str, str], bool]:
    """The receiver's check the Invox page (docs/api/invox.md) shows, run as written."""
    page = (REPO / "docs" / "api" / "invox.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    namespace: dict = {}
    exec(code, namespace)
    return namespace["verify"]


def verify_callback(raw: str, app_id: str, secret: str) -> dict:
    assert readme_verify()(raw.encode(), app_id, secret), "bad signature"
    return json.loads(raw)


@pytest.fixture(scope="module")
def invox(private_server) -> Invox:
    """A credential on the server that may call back to localhost (see conftest)."""
    return Invox(private_server, "invox-" + secrets.token_hex(3))


def test_the_documented_flow_with_a_signed_callback(invox, private_server, webserver):
    hook = f"/hook/invox-{secrets.token_hex(4)}"
    token = invox.token()
    started = time.time() * 1000
    presigned = invox.presign("audio/wav", token, callbackUrl=webserver.url(hook))
    assert presigned["presignedUrl"].startswith(f"{invox.base}/api/v1/")
    request_id = presigned["requestId"]

    pending = invox.result(request_id, token).json()
    assert pending == {
        "transcription": [],
        "processingStatus": "PENDING",
        "transcriptionStatus": "PENDING",
    }
    response = put(presigned["presignedUrl"], AUDIO.read_bytes())
    assert response.status_code == 200 and response.content == b""

    (delivery,) = webserver.wait_for_requests(hook, 1, timeout=180)
    assert delivery["headers"]["Content-Type"] == "application/json"
    assert delivery["headers"]["User-Agent"] == "Invox-Medical-Webhook/1.0"
    callback = verify_callback(delivery["body"], invox.app_id, invox.secret())
    with pytest.raises(AssertionError):
        verify_callback(delivery["body"], invox.app_id, "not-the-secret")
    assert list(callback) == ["requestId", "transcription", "signature", "createdAt"]
    assert callback["requestId"] == request_id
    assert started <= callback["createdAt"] <= time.time() * 1000

    result = invox.wait(request_id)
    assert result["processingStatus"] == result["transcriptionStatus"] == "COMPLETED"
    segments = result["transcription"]
    assert segments == callback["transcription"]
    assert len(segments) >= 1
    text = " ".join(s["text"] for s in segments).lower()
    assert "apostle of the middle classes" in text
    assert segments[0]["text"].startswith("Mr. Quilter")  # a title does not end a sentence
    for segment in segments:
        assert 0 <= segment["start"] < segment["end"] <= 6.5  # seconds
        assert segment["text"] == segment["text"].strip()
    assert result["vttTranscription"].startswith("WEBVTT\n\n00:00:0")
    assert "errorMessage" not in result

    # It is an ordinary file and job of the credential's project, diarization on.
    with private_server.client(private_server.new_key(invox.project)) as api:
        (job,) = api.get("/transcriptions").json()["transcriptions"]
        assert job["client_reference_id"] == request_id
        assert job["enable_speaker_diarization"] is True
        assert job["webhook_url"] == webserver.url(hook)
        assert job["webhook_status_code"] == 200
        file = api.get(f"/files/{job['file_id']}").json()
        assert file["filename"] == f"{request_id}.wav"
        assert file["size"] == AUDIO.stat().st_size


def test_token_from_a_json_body_and_refused_credentials(invox):
    url = f"{invox.base}/api/v1/auth/token"
    response = httpx.post(url, json={"credentials": invox.credentials})
    assert response.status_code == 200
    body = response.json()
    assert body["accessToken"] == body["access_token"] and body["expiresIn"] == 7200
    assert response.headers["cache-control"] == "no-store"
    invox.presign(token=body["accessToken"])

    wrong = base64.b64encode(f"{invox.app_id}:not-the-key".encode()).decode()
    for headers, body in [
        ({"Authorization": f"Basic {wrong}"}, None),
        ({}, {"credentials": "not base64!"}),
        ({}, None),
    ]:
        assert_invox_error(httpx.post(url, headers=headers, json=body), 401, None)


def test_calls_need_a_valid_access_token(invox, private_server):
    url = f"{invox.base}/api/v1/generate-presigned-url"
    for headers in [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {private_server.api_key}"},  # a Hark key is not one
        {"Authorization": f"Basic {invox.credentials}"},
    ]:
        response = httpx.post(url, headers=headers, json={"mimeType": "audio/wav"})
        assert_invox_error(response, 401, None)


def test_mime_types(invox):
    token = invox.token()
    for mime_type in [" audio/mpeg", "AUDIO/WEBM;codecs=opus", "audio/x-m4a", "audio/x-wav"]:
        invox.presign(mime_type, token)
    for mime_type in ["text/plain", "video/mp4", "audio/aiff", ""]:
        response = invox.post("generate-presigned-url", {"mimeType": mime_type}, token)
        assert_invox_error(response, 400, "GENERATE_PRESIGNURL_ERROR")
    missing = invox.post("generate-presigned-url", {"callbackUrl": "https://example.com"}, token)
    assert_invox_error(missing, 400, "GENERATE_PRESIGNURL_ERROR")


def test_callback_urls_get_the_webhook_address_checks(tmp_path):
    server = start_server(tmp_path, workers="0")  # no private addresses allowed
    try:
        invox = Invox(server, "checked")
        response = invox.post(
            "generate-presigned-url",
            {"mimeType": "audio/wav", "callbackUrl": "http://127.0.0.1:9/hook"},
        )
        body = assert_invox_error(response, 400, "GENERATE_PRESIGNURL_ERROR")
        assert "loopback" in body["message"]
    finally:
        server.stop()


def test_refused_puts_leave_the_url_usable_until_it_is_used(invox, private_server):
    presigned = invox.presign("audio/wav")
    url = presigned["presignedUrl"]
    stored = len(private_server.stored_blobs())
    audio = AUDIO.read_bytes()

    assert_invox_error(put(url, audio, "audio/mpeg"), 403, "content_type_mismatch")
    assert_invox_error(put(url.replace("token=", "token=x"), audio), 403, "upload_url_invalid")
    assert_invox_error(put(url.split("?")[0], audio), 403, "upload_url_invalid")
    too_big = b"\0" * (4 * 1024 * 1024 + 1)  # this server's file-size limit is 4 MiB
    assert_invox_error(put(url, too_big), 413, "file_too_large")
    assert len(private_server.stored_blobs()) == stored
    assert private_server.partial_uploads() == []
    assert invox.result(presigned["requestId"]).json()["processingStatus"] == "PENDING"

    assert put(url, audio, "audio/wav; charset=binary").status_code == 200
    assert_invox_error(put(url, audio), 403, "upload_url_used")
    assert invox.wait(presigned["requestId"])["processingStatus"] == "COMPLETED"


def test_audio_that_fails_is_an_error_and_still_called_back(invox, webserver):
    hook = f"/hook/invox-error-{secrets.token_hex(4)}"
    presigned = invox.presign("audio/ogg", callbackUrl=webserver.url(hook))
    assert put(presigned["presignedUrl"], b"not audio at all", "audio/ogg").status_code == 200
    result = invox.wait(presigned["requestId"])
    assert result["processingStatus"] == result["transcriptionStatus"] == "ERROR"
    assert result["transcription"] == [] and result["errorMessage"]
    (delivery,) = webserver.wait_for_requests(hook, 1)
    callback = verify_callback(delivery["body"], invox.app_id, invox.secret())
    assert callback["requestId"] == presigned["requestId"]
    assert callback["transcription"] == []


def test_another_projects_request_is_not_found(invox, private_server):
    request_id = invox.presign()["requestId"]
    other = Invox(private_server, "invox-other-" + secrets.token_hex(3))
    for path in ["/api/v1/get-transcription", "/api/get-transcription"]:
        response = httpx.post(
            f"{other.base}{path}",
            json={"requestId": request_id},
            headers={"Authorization": f"Bearer {other.token()}"},
        )
        body = assert_invox_error(response, 404, "transcriptionNotFound")
        assert body["message"] == "Transcription not found"
    assert_invox_error(invox.result("no-such-request"), 404, "transcriptionNotFound")
    assert invox.result(request_id).status_code == 200  # its own project sees it

    # The project's callbacks are signed with a secret it can set.
    assert other.secret() != invox.secret()
    private_server.hark("keys", "invox-secret", "--project", other.project, "--set", "s3cr3t")
    assert other.secret() == "s3cr3t"


def test_revoked_credentials_and_their_tokens_stop_working(private_server):
    invox = Invox(private_server, "invox-revoke-" + secrets.token_hex(3))
    token = invox.token()
    listing = private_server.hark("keys", "list").stdout
    assert invox.app_id in listing and invox.api_key not in listing
    private_server.hark("keys", "revoke", invox.app_id)
    response = invox.post("generate-presigned-url", {"mimeType": "audio/wav"}, token)
    assert_invox_error(response, 401, None)
    response = httpx.post(
        f"{invox.base}/api/v1/auth/token", headers={"Authorization": f"Basic {invox.credentials}"}
    )
    assert_invox_error(response, 401, None)


# -- expiry, on a server with short lifetimes -----------------------------------------------


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory) -> Iterator[Invox]:
    server = start_server(
        tmp_path_factory.mktemp("hark-invox-short"),
        workers="0",  # nothing is transcribed here
        invox_token_ttl_seconds="4",
        upload_url_ttl_seconds="2",
    )
    yield Invox(server, "short")
    server.stop()


def test_access_tokens_expire(short_lived):
    response = httpx.post(
        f"{short_lived.base}/api/v1/auth/token",
        headers={"Authorization": f"Basic {short_lived.credentials}"},
    )
    token, lifetime = response.json()["accessToken"], response.json()["expiresIn"]
    assert lifetime == 4
    short_lived.presign(token=token)
    time.sleep(lifetime + 0.5)
    response = short_lived.post("generate-presigned-url", {"mimeType": "audio/wav"}, token)
    assert_invox_error(response, 401, None)


def test_upload_urls_expire(short_lived):
    presigned = short_lived.presign()
    time.sleep(2.5)
    response = put(presigned["presignedUrl"], AUDIO.read_bytes())
    assert_invox_error(response, 403, "upload_url_expired")
    result = short_lived.result(presigned["requestId"]).json()
    assert result["processingStatus"] == "ERROR"
    assert "expired" in result["errorMessage"]

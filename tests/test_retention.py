"""Retention: a periodic sweep deletes old files and transcriptions with their audio and
transcripts; deleting a transcription never deletes its file."""

from __future__ import annotations

import secrets
import sqlite3
import time

from support import JFK, create_job, start_server, upload, wait_for


def backdate(server, *rows: tuple[str, str]) -> None:
    """Make (table, id) rows two days older, in one transaction (retention compares
    created_at with now)."""
    with sqlite3.connect(server.data_dir / "hark.db") as db:
        for table, row_id in rows:
            db.execute(
                f"UPDATE {table} SET created_at = datetime(created_at, '-2 days') WHERE id = ?",
                (row_id,),
            )


def wait_until_gone(api, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while api.get(path).status_code != 404:
        assert time.monotonic() < deadline, f"{path} still there after {timeout} s"
        time.sleep(0.25)


def test_old_files_and_transcriptions_are_swept(tmp_path):
    # Rows are made old by backdating them, not by waiting: however long the job takes,
    # nothing expires before the test says so.
    server = start_server(
        tmp_path / "hark",
        api_key="hark_test_" + secrets.token_hex(8),
        retention_days="1",
        sweep_interval="0.5",
    )
    try:
        with server.client() as api:
            file = upload(api, JFK)
            job = wait_for(api, create_job(api, file["id"])["id"])
            assert job["status"] == "completed"
            assert api.get(f"/transcriptions/{job['id']}/transcript").status_code == 200
            blobs = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
            assert len(blobs) == 1
            backdate(server, ("files", file["id"]), ("transcriptions", job["id"]))
            wait_until_gone(api, f"/files/{file['id']}")
            assert api.get(f"/transcriptions/{job['id']}").status_code == 404
            assert api.get(f"/transcriptions/{job['id']}/transcript").status_code == 404
            assert not blobs[0].exists()
            assert "retention: deleted 1 transcriptions and 1 files" in server.log()
    finally:
        server.stop()


def test_audio_under_a_live_job_survives_the_sweep(tmp_path):
    """An old file whose (newer) job is still queued keeps its audio until the job is done
    with it; an old file nothing uses goes."""
    server = start_server(
        tmp_path / "hark",
        api_key="hark_test_" + secrets.token_hex(8),
        retention_days="1",
        sweep_interval="0.5",
        workers="0",  # the job stays queued
    )
    try:
        with server.client() as api:
            used, unused = upload(api, JFK), upload(api, JFK)
            job = create_job(api, used["id"])
            backdate(server, ("files", used["id"]), ("files", unused["id"]))
            wait_until_gone(api, f"/files/{unused['id']}")
            assert api.get(f"/files/{used['id']}").status_code == 200
            assert api.get(f"/transcriptions/{job['id']}").json()["status"] == "queued"
            blobs = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
            assert len([p for p in blobs if p.parent.name != ".partial"]) == 1
    finally:
        server.stop()


def test_deleting_a_transcription_keeps_its_file(api):
    file = upload(api, JFK)
    job = wait_for(api, create_job(api, file["id"])["id"])
    assert api.delete(f"/transcriptions/{job['id']}").status_code == 204
    assert api.get(f"/files/{file['id']}").json()["id"] == file["id"]
    assert api.delete(f"/files/{file['id']}").status_code == 204

"""Retention: a periodic sweep deletes old files and transcriptions with their audio and
transcripts; deleting a transcription never deletes its file."""

from __future__ import annotations

import secrets
import time

from conftest import JFK, create_job, start_server, upload, wait_for


def test_old_files_and_transcriptions_are_swept(tmp_path):
    server = start_server(
        tmp_path / "hark",
        api_key="hark_test_" + secrets.token_hex(8),
        retention_days=str(6 / 86400),  # six seconds
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
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if api.get(f"/files/{file['id']}").status_code == 404:
                    break
                time.sleep(0.25)
            assert api.get(f"/files/{file['id']}").status_code == 404
            assert api.get(f"/transcriptions/{job['id']}").status_code == 404
            assert api.get(f"/transcriptions/{job['id']}/transcript").status_code == 404
            assert not blobs[0].exists()
            assert "retention: deleted 1 transcriptions and 1 files" in server.log()
    finally:
        server.stop()


def test_deleting_a_transcription_keeps_its_file(api):
    file = upload(api, JFK)
    job = wait_for(api, create_job(api, file["id"])["id"])
    assert api.delete(f"/transcriptions/{job['id']}").status_code == 204
    assert api.get(f"/files/{file['id']}").json()["id"] == file["id"]
    assert api.delete(f"/files/{file['id']}").status_code == 204

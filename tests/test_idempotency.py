"""Idempotency-Key on POST /files and POST /transcriptions."""

from __future__ import annotations

import secrets
import sqlite3

from support import JFK, assert_error, create_job, upload


def key() -> dict[str, str]:
    return {"Idempotency-Key": "retry-" + secrets.token_hex(8)}


def test_retried_transcription_returns_the_original(api):
    file = upload(api, JFK)
    body = {"model": "stt-async-v5", "file_id": file["id"], "client_reference_id": "once"}
    headers = key()
    count = api.get("/transcriptions/count").json()["total"]
    first = api.post("/transcriptions", json=body, headers=headers)
    second = api.post("/transcriptions", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] == first.json()["id"]
    assert api.get("/transcriptions/count").json()["total"] == count + 1
    # Key order and whitespace do not make a different body.
    reordered = dict(reversed(list(body.items())))
    assert (
        api.post("/transcriptions", json=reordered, headers=headers).json()["id"]
        == (first.json()["id"])
    )
    # The same key with a different body is a client bug: 409, nothing created.
    changed = {**body, "client_reference_id": "twice"}
    error = assert_error(
        api.post("/transcriptions", json=changed, headers=headers), 409, "idempotency_key_reused"
    )
    assert headers["Idempotency-Key"] in error["message"]
    assert api.get("/transcriptions/count").json()["total"] == count + 1
    # Without a key, every request creates a job.
    assert create_job(api, file["id"])["id"] != first.json()["id"]


def test_retried_upload_returns_the_original_file(api):
    headers = key()
    data = JFK.read_bytes()
    count = api.get("/files/count").json()["total"]
    first = api.post("/files", files={"file": ("jfk.flac", data)}, headers=headers)
    second = api.post("/files", files={"file": ("jfk.flac", data)}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert api.get("/files/count").json()["total"] == count + 1
    other = api.post("/files", files={"file": ("jfk.flac", data[:-1])}, headers=headers)
    assert_error(other, 409, "idempotency_key_reused")
    assert api.get("/files/count").json()["total"] == count + 1


def test_keys_belong_to_a_project(api, server, other_project_key):
    headers = key()
    mine = api.post("/files", files={"file": ("a.wav", b"RIFF" * 10)}, headers=headers)
    with server.client(other_project_key) as other:
        theirs = other.post("/files", files={"file": ("a.wav", b"RIFF" * 10)}, headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_key_used_on_one_endpoint_cannot_be_reused_on_another(api):
    headers = key()
    file = api.post("/files", files={"file": ("a.wav", b"RIFF" * 10)}, headers=headers).json()
    body = {"model": "stt-async-v5", "file_id": file["id"]}
    assert_error(api.post("/transcriptions", json=body, headers=headers), 409)


def test_malformed_keys_are_refused(api):
    body = {"model": "stt-async-v5", "file_id": "x"}
    error = assert_error(
        api.post("/transcriptions", json=body, headers={"Idempotency-Key": "k" * 256}), 400
    )
    assert "Idempotency-Key" in error["message"]


def test_a_create_and_its_key_are_written_together(api, server):
    """Were the record of the key written after the job or file (a crash in between), a
    retry would create a second one. A write of the record that fails (a trigger stands in
    for the crash) must leave nothing behind, and the retry then creates exactly one."""
    headers = key()
    trigger = (
        "CREATE TRIGGER fail_this_key BEFORE INSERT ON idempotency_keys "
        f"WHEN NEW.key = '{headers['Idempotency-Key']}' BEGIN SELECT RAISE(ABORT, 'crash'); END"
    )
    file = upload(api, JFK)
    body = {"model": "stt-async-v5", "file_id": file["id"]}
    jobs, files = (
        api.get(f"/{kind}/count").json()["total"] for kind in ("transcriptions", "files")
    )
    with sqlite3.connect(server.data_dir / "hark.db") as db:
        db.execute(trigger)
    try:
        # Each on a connection of its own: the server closes one after an internal error.
        with server.client() as fresh:
            assert fresh.post("/transcriptions", json=body, headers=headers).status_code == 500
        upload_once = {"file": ("jfk.flac", JFK.read_bytes())}
        with server.client() as fresh:
            assert fresh.post("/files", files=upload_once, headers=headers).status_code == 500
        assert api.get("/transcriptions/count").json()["total"] == jobs
        assert api.get("/files/count").json()["total"] == files
    finally:
        with sqlite3.connect(server.data_dir / "hark.db") as db:
            db.execute("DROP TRIGGER fail_this_key")
    first = api.post("/transcriptions", json=body, headers=headers)
    again = api.post("/transcriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert api.get("/transcriptions/count").json()["total"] == jobs + 1

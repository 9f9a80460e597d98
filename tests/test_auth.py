"""API keys and project isolation."""

from __future__ import annotations

import sqlite3
import stat
import time

import httpx
import pytest

from support import JFK, assert_error, create_job, start_server, upload, wait_for


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
    ],
)
def test_requests_without_a_valid_key_are_401(server, headers):
    for method, path in [
        ("GET", "/files"),
        ("GET", "/transcriptions"),
        ("GET", "/models"),
        ("POST", "/transcriptions"),
    ]:
        response = httpx.request(method, server.base_url + path, headers=headers)
        body = assert_error(response, 401)
        assert "key" in body["message"].lower() or "authorization" in body["message"].lower()


def test_keys_are_stored_hashed(server):
    key = server.new_key("hash-check")
    raw = (server.data_dir / "hark.db").read_bytes()
    wal = server.data_dir / "hark.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert key.encode() not in raw
    with sqlite3.connect(server.data_dir / "hark.db") as db:
        hashes = [row[0] for row in db.execute("select key_hash from api_keys")]
    assert all(len(h) == 64 for h in hashes)
    listing = server.hark("keys", "list").stdout
    assert "hash-check" in listing and key not in listing and key[:9] in listing


def test_configured_keys_are_not_stored_either(server):
    with sqlite3.connect(server.data_dir / "hark.db") as db:
        prefixes = [row[0] for row in db.execute("select key_prefix from api_keys")]
    assert server.api_key not in str(prefixes)
    assert any(p.startswith("sha256:") for p in prefixes)  # short keys show a fingerprint


def test_short_configured_key_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="at least 16 characters"):
        start_server(tmp_path / "short", api_key="tooshort")


def test_revoked_key_stops_working(server):
    key = server.new_key("revocation")
    with server.client(key) as client:
        assert client.get("/files").status_code == 200
        server.hark("keys", "revoke", key[:9])
        # Validated keys are trusted for HARK_AUTH_CACHE_SECONDS (5 s by default).
        deadline = time.monotonic() + 10
        while (response := client.get("/files")).status_code == 200:
            assert time.monotonic() < deadline, "revoked key still accepted after 10 s"
            time.sleep(0.25)
        assert_error(response, 401, "unauthenticated")


def test_projects_cannot_see_each_other(api, server, other_project_key):
    file = upload(api, JFK)
    job = wait_for(api, create_job(api, file["id"])["id"])
    with server.client(other_project_key) as other:
        assert_error(other.get(f"/files/{file['id']}"), 404, "file_not_found")
        assert_error(other.delete(f"/files/{file['id']}"), 404, "file_not_found")
        assert_error(other.get(f"/transcriptions/{job['id']}"), 404, "transcription_not_found")
        assert_error(other.get(f"/transcriptions/{job['id']}/transcript"), 404)
        assert_error(other.delete(f"/transcriptions/{job['id']}"), 404)
        listed = [f["id"] for f in other.get("/files").json()["files"]]
        assert file["id"] not in listed
        assert job["id"] not in [
            t["id"] for t in other.get("/transcriptions").json()["transcriptions"]
        ]
        # Another project's file cannot be transcribed either.
        response = other.post(
            "/transcriptions", json={"model": "stt-async-v5", "file_id": file["id"]}
        )
        assert_error(response, 400, "file_not_found")
    # ...and everything is still there for its owner.
    assert api.get(f"/files/{file['id']}").status_code == 200
    assert api.get(f"/transcriptions/{job['id']}/transcript").status_code == 200


def test_first_start_creates_and_saves_a_key(tmp_path):
    srv = start_server(tmp_path / "fresh")
    try:
        key_file = srv.data_dir / "api_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert key not in srv.log()  # only a terminal sees it (issue 19: logs must not)
        with srv.client(key) as client:
            assert client.get("/files").status_code == 200
    finally:
        srv.stop()
    # A restart does not mint another key.
    srv.start()
    try:
        assert srv.log().count("Created an API key") == 1
    finally:
        srv.stop()

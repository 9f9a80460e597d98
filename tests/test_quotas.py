"""Per-project quotas at their boundaries, on a server with small limits and no workers
(so jobs stay pending). Nothing is stored when a limit refuses a request."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from support import Server, assert_error, create_job, start_server

KiB = 1024


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("hark-quotas"),
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",
        max_file_size=str(100 * KiB),
        max_storage_bytes=str(250 * KiB),
        max_files="3",
        max_transcriptions="4",
        max_pending_transcriptions="2",
    )
    yield srv
    srv.stop()


def project_client(server: Server, **limits: int):
    """A client for a fresh project, with these limits overridden for it."""
    project = "p-" + secrets.token_hex(4)
    key = server.new_key(project)
    if limits:
        flags = [f"--{name.replace('_', '-')}={value}" for name, value in limits.items()]
        server.hark("limits", f"--project={project}", *flags)
    return server.client(key)


def post_file(client, size: int):
    return client.post("/files", files={"file": ("a.bin", secrets.token_bytes(size))})


def blob_count(server: Server) -> int:
    return sum(1 for p in (server.data_dir / "files").rglob("*") if p.is_file())


def test_file_size_limit_is_inclusive(quota_server):
    with project_client(quota_server) as api:
        assert post_file(api, 100 * KiB).status_code == 201
        error = assert_error(post_file(api, 100 * KiB + 1), 400, "invalid_request")
        assert "maximum is 102400 bytes" in error["message"]


def test_file_count_limit(quota_server):
    with project_client(quota_server) as api:
        for _ in range(3):
            assert post_file(api, 1000).status_code == 201
        before = blob_count(quota_server)
        error = assert_error(post_file(api, 1000), 400, "file_limit_exceeded")
        assert error["message"] == (
            "File limit reached: this project stores 3 files (maximum 3). "
            "Delete files to upload more."
        )
        assert api.get("/files/count").json()["total"] == 3
        assert blob_count(quota_server) == before  # nothing partially stored
        # Freeing one makes room for exactly one.
        api.delete(f"/files/{api.get('/files').json()['files'][0]['id']}")
        assert post_file(api, 1000).status_code == 201


def test_storage_limit_names_usage(quota_server):
    with project_client(quota_server, max_files=10) as api:
        assert post_file(api, 100 * KiB).status_code == 201
        assert post_file(api, 100 * KiB).status_code == 201
        before = blob_count(quota_server)
        error = assert_error(post_file(api, 60 * KiB), 413, "storage_limit_exceeded")
        assert "stores 204800 bytes of its 256000-byte limit" in error["message"]
        assert "51200 bytes left" in error["message"]
        assert blob_count(quota_server) == before
        assert not list((quota_server.data_dir / "files" / ".partial").glob("*"))
        assert post_file(api, 50 * KiB).status_code == 201  # exactly fills the quota
        assert_error(post_file(api, 1), 413, "storage_limit_exceeded")


def test_pending_transcriptions_limit_is_429(quota_server):
    with project_client(quota_server) as api:
        file = post_file(api, 1000).json()
        for _ in range(2):
            create_job(api, file["id"])
        body = {"model": "stt-async-v5", "file_id": file["id"]}
        error = assert_error(api.post("/transcriptions", json=body), 429)
        assert error["error_type"] == "too_many_pending_transcriptions"
        assert "2 queued or processing (maximum 2)" in error["message"]
        assert api.get("/transcriptions/count").json()["total"] == 2


def test_transcription_count_limit_and_project_overrides(quota_server):
    with project_client(quota_server, max_pending_transcriptions=10) as api:
        file = post_file(api, 1000).json()
        for _ in range(4):
            create_job(api, file["id"])
        body = {"model": "stt-async-v5", "file_id": file["id"]}
        error = assert_error(api.post("/transcriptions", json=body), 400)
        assert error["error_type"] == "transcription_limit_exceeded"
        assert "has 4 transcriptions (maximum 4)" in error["message"]
    # Another project has its own counts, and its own override of the file limit.
    with project_client(quota_server, max_files=1) as other:
        assert post_file(other, 1000).status_code == 201
        assert_error(post_file(other, 1000), 400, "file_limit_exceeded")


def test_limits_command_shows_effective_limits(quota_server):
    out = quota_server.hark("limits", "--project=shown", "--max-files", "7").stdout
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert lines["max_files"] == ["7", "(project)"]
    assert lines["max_storage_bytes"] == ["256000", "(default)"]
    out = quota_server.hark("limits", "--project=shown", "--reset").stdout
    assert "max_files" in out and "3  (default)" in out


def test_idempotent_retry_at_the_limit_returns_the_original(quota_server):
    with project_client(quota_server, max_files=1) as api:
        headers = {"Idempotency-Key": "upload-" + secrets.token_hex(4)}
        data = secrets.token_bytes(2000)
        first = api.post("/files", files={"file": ("a.bin", data)}, headers=headers)
        retry = api.post("/files", files={"file": ("a.bin", data)}, headers=headers)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json()["id"] == first.json()["id"]
        # A new key at the limit is still refused, after the upload, with nothing stored.
        before = blob_count(quota_server)
        other = api.post(
            "/files", files={"file": ("b.bin", data)}, headers={"Idempotency-Key": "n"}
        )
        assert_error(other, 400, "file_limit_exceeded")
        assert blob_count(quota_server) == before

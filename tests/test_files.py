"""/v1/files over HTTP: upload, get, list with cursors, count, delete, and their errors."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

import pytest

from support import JFK, assert_error, start_server, upload

pytestmark = pytest.mark.backends("embedded", "scaled")


def test_upload_returns_file_metadata(api):
    body = upload(api, JFK, client_reference_id="ref-1")
    assert body["filename"] == "jfk.flac"
    assert body["size"] == JFK.stat().st_size
    assert body["client_reference_id"] == "ref-1"
    assert body["created_at"].endswith("Z")
    assert api.get(f"/files/{body['id']}").json() == body


def test_upload_keeps_only_the_basename(api):
    response = api.post("/files", files={"file": ("../../etc/evil.wav", b"RIFF")})
    assert response.status_code == 201
    assert response.json()["filename"] == "evil.wav"


def test_raw_bytes_get_default_filename(api):
    response = api.post("/files", files={"file": ("", b"abc", "application/octet-stream")})
    assert response.status_code == 201
    assert response.json()["filename"] == "upload.bin"


def test_upload_without_file_part_is_rejected(api):
    body = assert_error(
        api.post("/files", data={"client_reference_id": "x"}), 400, "invalid_request"
    )
    assert body["validation_errors"][0]["location"] == "file.file"
    assert_error(api.post("/files", json={"file": "x"}), 400, "invalid_request")


def test_client_reference_id_too_long(api, server):
    before = len(server.stored_blobs())
    response = api.post(
        "/files", files={"file": ("a.wav", b"x")}, data={"client_reference_id": "r" * 257}
    )
    body = assert_error(response, 400, "invalid_request")
    assert body["validation_errors"][0]["location"] == "body.client_reference_id"
    assert len(server.stored_blobs()) == before


def test_get_and_delete_unknown_or_malformed_ids_are_404(api):
    for file_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "x" * 300]:
        assert_error(api.get(f"/files/{file_id}"), 404, "file_not_found")
        assert_error(api.delete(f"/files/{file_id}"), 404, "file_not_found")


def test_delete_removes_metadata_and_audio(api, server):
    body = upload(api, JFK)
    before = len(server.stored_blobs())
    response = api.delete(f"/files/{body['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get(f"/files/{body['id']}"), 404)
    assert len(server.stored_blobs()) == before - 1
    assert_error(api.delete(f"/files/{body['id']}"), 404)


def test_count_tracks_uploads_and_deletes(api):
    start = api.get("/files/count").json()
    assert set(start) == {"total", "public_api", "playground"}
    ids = [api.post("/files", files={"file": ("c.wav", b"x")}).json()["id"] for _ in range(3)]
    assert api.get("/files/count").json()["total"] == start["total"] + 3
    for file_id in ids:
        api.delete(f"/files/{file_id}")
    assert api.get("/files/count").json()["total"] == start["total"]


def test_list_pages_newest_first_with_stable_cursors(server):
    key = server.new_key("pagination")
    with server.client(key) as client:
        ids = [
            client.post("/files", files={"file": (f"p{i}.wav", b"x")}).json()["id"]
            for i in range(7)
        ]
        newest_first = list(reversed(ids))
        page = client.get("/files", params={"limit": 3}).json()
        assert [f["id"] for f in page["files"]] == newest_first[:3]
        # Delete what we have seen, and one item not yet seen: the cursor must still work.
        for f in page["files"]:
            client.delete(f"/files/{f['id']}")
        client.delete(f"/files/{newest_first[4]}")
        rest: list[str] = []
        cursor = page["next_page_cursor"]
        while cursor:
            page = client.get("/files", params={"limit": 3, "cursor": cursor}).json()
            rest += [f["id"] for f in page["files"]]
            cursor = page["next_page_cursor"]
        assert rest == [newest_first[3], *newest_first[5:]]
        assert client.get("/files", params={"limit": 1000}).json()["next_page_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "1001", "abc"])
def test_list_rejects_bad_limits(api, limit):
    body = assert_error(api.get("/files", params={"limit": limit}), 400, "invalid_request")
    assert body["validation_errors"][0]["location"] == "query.limit"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b"0001-01-01T00:00:00+01:00|x").decode(),  # out of range
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),  # no time zone
        base64.urlsafe_b64encode(b"no separator").decode(),
    ],
)
def test_list_rejects_bad_cursor(api, cursor):
    assert_error(api.get("/files", params={"cursor": cursor}), 400, "invalid_cursor")
    assert_error(api.get("/transcriptions", params={"cursor": cursor}), 400, "invalid_cursor")


def test_truncated_multipart_body_is_rejected(api, server):
    before = api.get("/files/count").json()["total"]
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="t.wav"\r\n\r\n'
        + b"x" * 5000  # ...and no closing boundary
    )
    response = api.post(
        "/files", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert_error(response, 400, "invalid_request")
    assert api.get("/files/count").json()["total"] == before
    assert not server.partial_uploads()


def test_oversize_upload_is_rejected_and_leaves_nothing(tmp_path):
    srv = start_server(tmp_path / "small", api_key="hark_small_limits", max_file_size="1000")
    try:
        with srv.client() as client:
            ok = client.post("/files", files={"file": ("ok.wav", b"x" * 1000)})
            assert ok.status_code == 201
            # Soniox's contract: 400 invalid_request, "Exceeded maximum file size".
            body = assert_error(
                client.post("/files", files={"file": ("big.wav", b"x" * 1001)}),
                400,
                "invalid_request",
            )
            assert body["message"] == "Exceeded maximum file size (maximum is 1000 bytes)."
            # A declared length far over the limit is refused before any byte is stored.
            big = client.post("/files", files={"file": ("big.wav", b"x" * 3_000_000)})
            assert_error(big, 400, "invalid_request")
            assert client.get("/files/count").json()["total"] == 1
        assert len(srv.stored_blobs()) == 1
    finally:
        srv.stop()


def test_oversize_json_body_is_rejected(api):
    response = api.post(
        "/transcriptions",
        content=b'{"model": "' + b"x" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


def test_interrupted_upload_leaves_nothing(api, server):
    before_count = api.get("/files/count").json()["total"]
    before_blobs = len(server.stored_blobs())
    disconnects = server.log().count("client disconnected during POST /v1/files")
    boundary = "hark-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    request = (
        f"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.api_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 20_000_000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        # More than one 8 MiB part: on S3 a multipart upload has begun (and must be aborted).
        sock.sendall(request + head + b"\0" * 9 * 1024 * 1024)  # then hang up mid-body
    # The server notices the disconnect; nothing is recorded, the partial blob is removed.
    deadline = time.monotonic() + 10
    while server.log().count("client disconnected during POST /v1/files") < disconnects + 1:
        assert time.monotonic() < deadline, "the server never saw the disconnect"
        time.sleep(0.05)
    assert not server.partial_uploads()
    assert api.get("/files/count").json()["total"] == before_count
    assert len(server.stored_blobs()) == before_blobs


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field)).split()[1])


def test_large_upload_streams_to_disk_with_bounded_memory(api, server, tmp_path):
    size = 300 * 1024 * 1024
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(size)  # sparse: cheap to make, still 300 MiB on the wire
    pid = server.process.pid
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS counter (VmHWM) to the current RSS
    before = _rss_kib(pid)
    file = upload(api, big)
    after = _rss_kib(pid, "VmHWM")  # peak, including during the upload
    assert file["size"] == size
    assert (after - before) < 64 * 1024, f"server RSS grew by {(after - before) // 1024} MiB"
    api.delete(f"/files/{file['id']}")

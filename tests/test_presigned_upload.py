"""Pre-signed uploads to Hark's own API (POST /v1/files/upload-url): with local storage Hark
receives the PUT; with S3 (moto, in the scaled configuration) the URL is S3's own and Hark
takes the object in when its file id is first used. Over plain HTTP, the SDK and the CLI."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hark.client import AsyncClient, Client, UploadUrl
from support import JFK, assert_error, create_job, start_stack, upload, wait_for

pytestmark = pytest.mark.backends("embedded", "scaled")

FLAC = JFK.read_bytes()


def on_s3(server) -> bool:
    return server.env.get("HARK_STORAGE_URL", "").startswith("s3://")


def upload_url(api: httpx.Client, **body) -> dict:
    response = api.post("/files/upload-url", json={"filename": "jfk.flac", **body})
    assert response.status_code == 200, response.text
    return response.json()


def put(url: str, data: bytes, content_type: str | None = "audio/flac") -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return httpx.put(url, content=data, headers=headers, timeout=60)


def test_put_to_the_url_creates_the_file(api, server):
    before = set(server.stored_blobs())
    target = upload_url(
        api,
        filename="calls/jfk.flac",
        content_type="audio/flac",
        size=len(FLAC),
        client_reference_id="ref-presigned",
    )
    file_id = target["file_id"]
    assert target["expires_at"].endswith("Z")
    if on_s3(server):  # S3's own pre-signed URL, on the bucket's endpoint
        url = urlsplit(target["upload_url"])
        assert f"{url.scheme}://{url.netloc}" == server.env["HARK_S3_ENDPOINT_URL"]
        assert "X-Amz-Signature=" in url.query
    else:
        assert target["upload_url"].startswith(f"http://127.0.0.1:{server.port}/v1/uploads/")
        assert_error(api.get(f"/files/{file_id}"), 404, "file_not_found")  # not uploaded yet

    assert put(target["upload_url"], FLAC).is_success
    file = api.get(f"/files/{file_id}").json()
    assert file["filename"] == "jfk.flac"
    assert file["size"] == len(FLAC)
    assert file["client_reference_id"] == "ref-presigned"
    assert file_id in [f["id"] for f in api.get("/files").json()["files"]]
    # One blob more, under a key no URL can write to.
    added = set(server.stored_blobs()) - before
    assert len(added) == 1
    assert target["upload_url"].split("?")[0].rsplit("/", 1)[1] not in added.pop()

    job = wait_for(api, create_job(api, file_id)["id"])
    assert job["status"] == "completed", job
    transcript = api.get(f"/transcriptions/{job['id']}/transcript").json()
    assert "fellow Americans" in transcript["text"]
    api.delete(f"/transcriptions/{job['id']}")
    assert api.delete(f"/files/{file_id}").status_code == 204
    assert set(server.stored_blobs()) == before


def test_the_first_use_takes_in_an_s3_upload_wherever_it_is(api, server):
    """A transcription (or a count) is a first use too."""
    target = upload_url(api, size=len(FLAC))
    assert put(target["upload_url"], FLAC, None).is_success
    if on_s3(server):
        count = api.get("/files/count").json()["total"]
        assert target["file_id"] in [f["id"] for f in api.get("/files").json()["files"]]
        assert api.get("/files/count").json()["total"] == count
    job = create_job(api, target["file_id"])
    assert job["filename"] == "jfk.flac"
    assert wait_for(api, job["id"])["status"] == "completed"


def test_uploads_count_against_the_quotas(server):
    project = "presigned-quota-" + secrets.token_hex(3)
    server.hark("limits", f"--project={project}", "--max-files=1")
    with server.client(server.new_key(project)) as api:
        target = upload_url(api, size=len(FLAC))  # on S3: S3's own URL, checked on first use
        first = upload(api, JFK)  # the project is now full
        assert_error(api.post("/files/upload-url", json={"filename": "x.wav"}), 400)
        stored = set(server.stored_blobs())
        response = put(target["upload_url"], FLAC)
        if on_s3(server):
            assert response.is_success  # S3 took it; Hark refuses it on first use
            assert_error(api.get(f"/files/{target['file_id']}"), 400, "file_limit_exceeded")
            assert_error(api.get(f"/files/{target['file_id']}"), 404, "file_not_found")
        else:
            assert_error(response, 400, "file_limit_exceeded")
            api.delete(f"/files/{first['id']}")  # room again: the same URL still works
            assert put(target["upload_url"], FLAC).status_code == 201
            api.delete(f"/files/{target['file_id']}")
        assert api.get("/files/count").json()["total"] <= 1
        assert set(server.stored_blobs()) <= stored


def test_declared_size_is_enforced(api, server):
    target = upload_url(api, size=len(FLAC) - 1)
    response = put(target["upload_url"], FLAC)
    if not on_s3(server):
        assert_error(response, 400, "size_mismatch")
    elif response.is_success:  # S3 checks the signed Content-Length; moto does not, Hark does
        assert_error(api.get(f"/files/{target['file_id']}"), 400, "size_mismatch")
    assert_error(api.get(f"/files/{target['file_id']}"), 404, "file_not_found")
    too_big = {"filename": "x.wav", "size": 10**12}  # over the file-size limit: refused now
    assert_error(api.post("/files/upload-url", json=too_big), 400, "invalid_request")


def test_hark_refuses_bad_puts(api, server):
    if on_s3(server):
        pytest.skip("S3 receives these PUTs itself")
    target = upload_url(api, content_type="audio/flac")
    url = target["upload_url"]
    assert_error(put(url, FLAC, "audio/wav"), 403, "content_type_mismatch")
    assert_error(put(url.replace("token=", "token=x"), FLAC), 403, "upload_url_invalid")
    other = upload_url(api)["upload_url"]
    assert_error(put(url.split("?")[0] + "?" + other.split("?")[1], FLAC), 403)
    assert put(url, FLAC, "audio/FLAC").status_code == 201
    assert_error(put(url, FLAC), 403, "upload_url_used")
    body = {"filename": "x", "size": -1}
    assert_error(api.post("/files/upload-url", json=body), 400, "invalid_request")


def test_sdk_and_cli(server):
    with Client(api_key=server.api_key, api_base_url=server.base_url) as client:
        target = client.files.create_upload_url("a.flac", content_type="audio/flac")
        assert isinstance(target, UploadUrl) and target.file_id
        file = client.files.upload_presigned(JFK, client_reference_id="sdk")
        assert (file.filename, file.size, file.client_reference_id) == (
            "jfk.flac",
            len(FLAC),
            "sdk",
        )
        client.files.delete(file.id)

    async def run() -> None:
        async with AsyncClient(api_key=server.api_key, api_base_url=server.base_url) as client:
            file = await client.files.upload_presigned(JFK, content_type="audio/flac")
            assert file.size == len(FLAC)
            await client.files.delete(file.id)

    asyncio.run(run())

    command = [sys.executable, "-m", "hark.cli", "files", "upload", "--presigned"]
    command += ["--api-key", server.api_key, "--base-url", server.base_url, str(JFK)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    file_id, name, size = output.split()
    assert (name, int(size)) == ("jfk.flac", len(FLAC))
    with server.client() as api:
        assert api.delete(f"/files/{file_id}").status_code == 204


def test_s3_urls_sign_the_size_and_a_used_one_leaves_nothing_behind(services, tmp_path):
    """Its own API process on S3 (no worker), with a quick retention sweep."""
    stack = start_stack(
        services, tmp_path, "hark_s3_" + secrets.token_hex(8), workers=0, sweep_interval="0.5"
    )
    server = stack.apis[0]
    try:
        with server.client() as api:
            # No declared size: S3 could not hold the PUT to the quotas, so Hark receives it.
            unsized = upload_url(api)["upload_url"]
            assert unsized.startswith(f"http://127.0.0.1:{server.port}/v1/uploads/")

            target = upload_url(api, size=len(FLAC), content_type="audio/flac")
            query = parse_qs(urlsplit(target["upload_url"]).query)
            assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";")
            assert put(target["upload_url"], FLAC).is_success
            assert api.get(f"/files/{target['file_id']}").json()["size"] == len(FLAC)
            kept = set(server.stored_blobs())  # the file's audio, under a key of its own

            # The URL still works until it expires: a second PUT leaves an object no file owns.
            assert put(target["upload_url"], FLAC).is_success
            assert len(set(server.stored_blobs()) - kept) == 1
            stack.sql(
                "UPDATE presigned_uploads SET expires_at = expires_at - interval '2 days' "
                "WHERE id = %s RETURNING id",
                target["file_id"],
            )
            deadline = time.monotonic() + 30
            while set(server.stored_blobs()) != kept:
                assert time.monotonic() < deadline, "the used URL's object is still there"
                time.sleep(0.25)
            assert api.get(f"/files/{target['file_id']}").json()["size"] == len(FLAC)
    finally:
        stack.stop()

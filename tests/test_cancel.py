"""POST /v1/transcriptions/{id}/cancel: queued and processing jobs end `cancelled`, the worker
is freed for the next job, ended jobs answer 409, other projects' jobs 404; through
hark.client (sync and async) and `hark jobs cancel`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hark.client import HarkConflictError, HarkNotFoundError
from support import JFK, LONGFORM, assert_error, create_job, upload, wait_for
from support.sdk_harness import open_client

pytestmark = pytest.mark.backends("embedded", "scaled")

MISSING = "00000000-0000-0000-0000-000000000000"


def wait_processing(api, transcription_id: str, timeout: float = 120) -> dict:
    """Until the engine is working on the job (it has reported progress)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/transcriptions/{transcription_id}").json()
        if job["status"] == "processing" and job["progress"] > 0:
            return job
        assert job["status"] in ("queued", "processing"), job
        time.sleep(0.05)
    raise AssertionError(f"transcription {transcription_id} never started")


def test_cancelling_a_processing_job_frees_its_worker(api):
    running = create_job(api, upload(api, LONGFORM)["id"])
    waiting = create_job(api, upload(api, JFK)["id"])
    wait_processing(api, running["id"])

    response = api.post(f"/transcriptions/{running['id']}/cancel")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == running["id"] and answer["status"] == "error"
    assert answer["error_type"] == "cancelled" and "cancelled" in answer["error_message"]

    # The worker stops at its next progress report and takes the next job.
    cancelled_at = time.monotonic()
    final = wait_for(api, waiting["id"], timeout=120)
    assert final["status"] == "completed"
    assert time.monotonic() - cancelled_at < 60  # not after the whole 69 s recording
    job = api.get(f"/transcriptions/{running['id']}").json()
    assert job["status"] == "error" and job["error_type"] == "cancelled"
    assert job["progress"] < 1

    assert_error(api.post(f"/transcriptions/{running['id']}/cancel"), 409)
    assert_error(api.post(f"/transcriptions/{waiting['id']}/cancel"), 409)
    assert_error(api.get(f"/transcriptions/{running['id']}/transcript"), 409)
    assert api.delete(f"/transcriptions/{running['id']}").status_code == 204


def test_cancelling_a_queued_job_ends_it_before_it_runs(api):
    running = create_job(api, upload(api, LONGFORM)["id"])
    queued = create_job(api, upload(api, JFK)["id"])
    answer = api.post(f"/transcriptions/{queued['id']}/cancel").json()
    assert answer["status"] == "error" and answer["error_type"] == "cancelled"
    api.post(f"/transcriptions/{running['id']}/cancel")
    assert wait_for(api, running["id"])["error_type"] == "cancelled"
    # Nothing picks the cancelled job up later.
    nxt = create_job(api, upload(api, JFK)["id"])
    assert wait_for(api, nxt["id"])["status"] == "completed"
    assert api.get(f"/transcriptions/{queued['id']}").json()["error_type"] == "cancelled"


def test_another_projects_job_cannot_be_cancelled(api, server, other_project_key):
    job = create_job(api, upload(api, LONGFORM)["id"])
    with server.client(other_project_key) as other:
        assert_error(other.post(f"/transcriptions/{job['id']}/cancel"), 404)
    assert_error(api.post(f"/transcriptions/{MISSING}/cancel"), 404)
    assert api.get(f"/transcriptions/{job['id']}").json()["status"] in ("queued", "processing")
    assert api.post(f"/transcriptions/{job['id']}/cancel").status_code == 200


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_cancel(server, kind):
    sdk, close = open_client(kind, api_key=server.api_key, api_base_url=server.base_url)
    try:
        file = sdk.files.upload(LONGFORM)
        job = sdk.stt.create(file_id=file.id)
        cancelled = sdk.stt.cancel(job.id)
        assert cancelled.id == job.id and cancelled.status == "error"
        assert cancelled.error_type == "cancelled"
        with pytest.raises(HarkConflictError):
            sdk.stt.cancel(job.id)
        with pytest.raises(HarkNotFoundError):
            sdk.stt.cancel(MISSING)
    finally:
        close()


def test_cli_cancel(api, server):
    job = create_job(api, upload(api, LONGFORM)["id"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.update(HARK_API_KEY=server.api_key, HARK_API_BASE_URL=server.base_url)
    result = subprocess.run(
        [sys.executable, "-m", "hark.cli", "jobs", "cancel", job["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"cancelled {job['id']}" in result.stdout
    assert api.get(f"/transcriptions/{job['id']}").json()["error_type"] == "cancelled"

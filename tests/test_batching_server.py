"""Batching through the real server: many jobs submitted at once run together (the default
worker batches and keeps several jobs in flight) and come out as the sequential engine's."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import jiwer
import pytest

from hark.engine import EngineConfig, TranscribeOptions, get_pipeline
from support import (
    DEV_CLEAN,
    HOTWORDS,
    LONGFORM,
    create_job,
    normalize,
    start_server,
    upload,
    wait_for,
)

DEV_FILES = sorted([*DEV_CLEAN.glob("*.flac"), *DEV_CLEAN.glob("*.wav")])


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[httpx.Client]:
    """`hark serve` with its defaults: batches of 8 windows, 4 jobs in flight."""
    server = start_server(tmp_path_factory.mktemp("batching"), "hark_test_" + secrets.token_hex(8))
    try:
        with server.client() as client:
            yield client
    finally:
        server.stop()


def test_mixed_jobs_at_once_match_sequential_and_a_corrupt_one_fails_alone(api, tmp_path):
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3" + bytes(range(256)) * 64)
    scored = [*DEV_FILES, LONGFORM]
    files = [*scored, HOTWORDS, corrupt]
    uploaded = [upload(api, path)["id"] for path in files]
    bodies = [{} for _ in scored] + [{"context": {"terms": ["ComfyUI"]}}, {}]
    ids = [
        create_job(api, file_id, **body)["id"]
        for file_id, body in zip(uploaded, bodies, strict=True)
    ]
    done = [wait_for(api, job_id, timeout=600) for job_id in ids]

    *good, bad = done
    assert [job["status"] for job in good] == ["completed"] * len(good), good
    assert bad["status"] == "error" and bad["error_type"] == "audio_decode_error", bad
    texts = [api.get(f"/transcriptions/{job['id']}/transcript").json()["text"] for job in good]
    assert "ComfyUI" in texts[-1]

    sequential = get_pipeline(EngineConfig(num_workers=1))
    alone = [sequential.transcribe_file(path, TranscribeOptions()).text for path in scored]
    truth = [normalize(path.with_suffix(".txt").read_text()) for path in scored]
    served = jiwer.wer(truth, [normalize(t) for t in texts[: len(scored)]])
    reference = jiwer.wer(truth, [normalize(t) for t in alone])
    assert served <= reference + 0.01, (served, reference)
    for job_id in ids:
        api.delete(f"/transcriptions/{job_id}")
    for file_id in uploaded:
        api.delete(f"/files/{file_id}")

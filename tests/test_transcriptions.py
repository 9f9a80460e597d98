"""/v1/transcriptions over HTTP: lifecycle, echo, transcript, state errors, bad audio."""

from __future__ import annotations

import time

import jiwer
import numpy as np
import pytest

from support import (
    HOTWORDS,
    JFK,
    LONGFORM,
    assert_error,
    create_job,
    normalize,
    transcribe,
    upload,
    wait_for,
)
from support.media import repeat_to, video_without_audio, write_wav

pytestmark = pytest.mark.backends("embedded", "scaled")

FULL_REQUEST = {
    "language_hints": ["en"],
    "language_hints_strict": False,
    "enable_speaker_diarization": False,
    "enable_language_identification": True,
    "context": {
        "general": [{"key": "domain", "value": "politics"}],
        "text": "A speech",
        "terms": ["Americans"],
        "translation_terms": [{"source": "country", "target": "país"}],
    },
    "client_reference_id": "job-42",
}


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory):
    """About three minutes of real speech: a job that stays `processing` for a while."""
    return repeat_to(LONGFORM, 180, tmp_path_factory.mktemp("long") / "long.wav")


def test_create_echoes_every_field_and_masks_the_secret(api):
    file = upload(api, JFK)
    job = create_job(api, file["id"], **FULL_REQUEST)
    assert job["status"] == "queued"
    assert job["file_id"] == file["id"] and job["filename"] == "jfk.flac"
    assert job["audio_url"] is None and job["model"] == "stt-async-v5"
    for key, value in FULL_REQUEST.items():
        assert job[key] == value, key
    assert job["webhook_url"] is None and job["webhook_status_code"] is None
    final = wait_for(api, job["id"])
    assert final["status"] == "completed"
    assert api.get(f"/transcriptions/{job['id']}").json()["context"] == FULL_REQUEST["context"]


def test_speaker_bounds_are_a_hark_extension(api):
    """min_speakers/max_speakers (the legacy API's min/max_num_speakers) go with diarization."""
    file = upload(api, JFK)
    job = create_job(
        api, file["id"], enable_speaker_diarization=True, min_speakers=2, max_speakers=3
    )
    assert (job["min_speakers"], job["max_speakers"]) == (2, 3)
    assert create_job(api, file["id"])["min_speakers"] is None
    for bounds in (
        {"min_speakers": 2},  # without enable_speaker_diarization
        {"enable_speaker_diarization": True, "min_speakers": 3, "max_speakers": 2},
        {"enable_speaker_diarization": True, "max_speakers": 0},
    ):
        body = {"model": "stt-async-v5", "file_id": file["id"], **bounds}
        assert_error(api.post("/transcriptions", json=body), 400, "invalid_request")


def test_language_hints_must_be_languages_of_the_model(api):
    file = upload(api, JFK)
    job = create_job(api, file["id"], language_hints=["en-US"])
    assert job["language_hints"] == ["en-US"]
    body = {"model": "stt-async-v5", "file_id": file["id"], "language_hints": ["en", "de"]}
    error = assert_error(api.post("/transcriptions", json=body), 400, "invalid_request")
    assert "'de'" in error["message"] and "supported: en" in error["message"]
    assert error["validation_errors"][0]["location"] == "body.language_hints.1"


def test_completed_transcript(api):
    job, transcript = transcribe(api, JFK, enable_language_identification=True)
    assert job["status"] == "completed" and job["progress"] == 1.0
    assert job["audio_duration_ms"] == 11000
    assert job["error_type"] is None and job["error_message"] is None
    assert transcript["id"] == job["id"]
    tokens = transcript["tokens"]
    assert "".join(t["text"] for t in tokens) == transcript["text"]
    assert (
        jiwer.wer(normalize(JFK.with_suffix(".txt").read_text()), normalize(transcript["text"]))
        <= 0.10
    )
    for token in tokens:
        assert set(token) >= {"text", "start_ms", "end_ms", "confidence", "language"}
        assert token["language"] == "en" and "speaker" not in token
        assert 0 <= token["start_ms"] <= token["end_ms"] <= 11000


def test_context_terms_become_hotwords(api):
    _, plain = transcribe(api, HOTWORDS)
    _, boosted = transcribe(api, HOTWORDS, context={"terms": ["ComfyUI"]})
    assert "ComfyUI" not in plain["text"]
    assert "ComfyUI" in boosted["text"]


def test_get_list_count_delete(api, server):
    key = server.new_key("lifecycle")
    with server.client(key) as client:
        file = upload(client, JFK)
        ids = [create_job(client, file["id"])["id"] for _ in range(3)]
        for job_id in ids:
            wait_for(client, job_id)
        assert client.get("/transcriptions/count").json()["total"] == 3
        page = client.get("/transcriptions", params={"limit": 2}).json()
        assert [t["id"] for t in page["transcriptions"]] == ids[::-1][:2]
        second = client.get(
            "/transcriptions", params={"limit": 2, "cursor": page["next_page_cursor"]}
        ).json()
        assert [t["id"] for t in second["transcriptions"]] == [ids[0]]
        assert second["next_page_cursor"] is None
        response = client.delete(f"/transcriptions/{ids[0]}")
        assert response.status_code == 204 and response.content == b""
        assert_error(client.get(f"/transcriptions/{ids[0]}"), 404, "transcription_not_found")
        assert_error(
            client.get(f"/transcriptions/{ids[0]}/transcript"), 404, "transcription_not_found"
        )
        assert_error(client.delete(f"/transcriptions/{ids[0]}"), 404)
        # Deleting a transcription never deletes its file.
        assert client.get(f"/files/{file['id']}").status_code == 200
        assert client.get("/transcriptions/count").json()["total"] == 2


def test_malformed_transcription_ids_are_404(api):
    for bad in ["nope", "00000000-0000-0000-0000-000000000000"]:
        assert_error(api.get(f"/transcriptions/{bad}"), 404, "transcription_not_found")
        assert_error(api.delete(f"/transcriptions/{bad}"), 404, "transcription_not_found")
        assert_error(api.get(f"/transcriptions/{bad}/transcript"), 404, "transcription_not_found")


def test_running_job_reports_rising_progress_and_refuses_delete(api, long_audio):
    running = create_job(api, upload(api, long_audio)["id"])
    waiting = create_job(api, upload(api, JFK)["id"])
    seen: list[float] = []
    deadline = time.monotonic() + 240
    refused = False
    while time.monotonic() < deadline:
        job = api.get(f"/transcriptions/{running['id']}").json()
        if job["status"] == "processing":
            assert job["audio_duration_ms"] is None or job["audio_duration_ms"] == 180_000
            seen.append(job["progress"])
            if not refused:
                assert_error(
                    api.delete(f"/transcriptions/{running['id']}"),
                    409,
                    "transcription_invalid_state",
                )
                body = assert_error(api.get(f"/transcriptions/{running['id']}/transcript"), 409)
                assert "processing" in body["message"]
                # The second job waits its turn; its transcript is not ready either.
                assert api.get(f"/transcriptions/{waiting['id']}").json()["status"] == "queued"
                assert_error(api.get(f"/transcriptions/{waiting['id']}/transcript"), 409)
                refused = True
        if job["status"] in ("completed", "error"):
            break
        time.sleep(0.05)
    assert job["status"] == "completed", job
    assert refused
    assert job["audio_duration_ms"] == 180_000
    distinct = sorted(set(seen))
    assert seen == sorted(seen), "progress never goes backwards"
    assert len([p for p in distinct if 0 < p < 1]) >= 3, distinct
    assert wait_for(api, waiting["id"])["status"] == "completed"


def test_queued_job_can_be_deleted(api, long_audio):
    running = create_job(api, upload(api, long_audio)["id"])
    queued = create_job(api, upload(api, JFK)["id"])
    assert api.delete(f"/transcriptions/{queued['id']}").status_code == 204
    assert wait_for(api, running["id"])["status"] == "completed"
    assert_error(api.get(f"/transcriptions/{queued['id']}"), 404)


@pytest.mark.parametrize(
    ("make", "error_type"),
    [
        (lambda d: d / "empty.wav", "audio_decode_error"),
        (lambda d: d / "notes.txt", "audio_decode_error"),
        (lambda d: write_wav(np.zeros(0, np.float32), d / "zero.wav"), "audio_empty"),
        (lambda d: video_without_audio(d / "silent.mp4"), "no_audio_stream"),
    ],
    ids=["empty-file", "text-file", "zero-samples", "video-without-audio"],
)
def test_bad_audio_ends_in_error_not_a_stuck_job(api, tmp_path, make, error_type):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("definitely not audio\n" * 50)
    job, transcript = transcribe(api, make(tmp_path))
    assert job["status"] == "error" and transcript is None
    assert job["error_type"] == error_type
    assert job["error_message"] and "/" not in job["error_message"]
    body = assert_error(api.get(f"/transcriptions/{job['id']}/transcript"), 409)
    assert "failed" in body["message"]
    # A failed job can be deleted, and its file stays.
    assert api.delete(f"/transcriptions/{job['id']}").status_code == 204
    assert api.get(f"/files/{job['file_id']}").status_code == 200


def test_file_deleted_before_processing_fails_the_job(api, long_audio):
    running = create_job(api, upload(api, long_audio)["id"])
    file = upload(api, JFK)
    job = create_job(api, file["id"])
    api.delete(f"/files/{file['id']}")
    final = wait_for(api, job["id"])
    assert final["status"] == "error" and final["error_type"] == "file_not_found"
    assert wait_for(api, running["id"])["status"] == "completed"

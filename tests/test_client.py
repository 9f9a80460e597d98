"""hark.client against a real `hark serve`: every method, through both Client and AsyncClient."""

from __future__ import annotations

import asyncio
import inspect
import io
import time

import jiwer
import pytest

from hark.client import (
    AsyncClient,
    Client,
    CreateTranscriptionConfig,
    HarkAuthenticationError,
    HarkConflictError,
    HarkInvalidRequestError,
    HarkNotFoundError,
    HarkPermissionDeniedError,
    HarkRateLimitError,
    HarkValidationError,
    Transcript,
    Transcription,
)
from support import HOTWORDS, JFK, LONGFORM, normalize
from support.sdk_harness import open_client

MISSING = "00000000-0000-0000-0000-000000000000"
JFK_TEXT = normalize(JFK.with_suffix(".txt").read_text())


@pytest.fixture(scope="module")
def project_keys(server):
    """A project per client kind, so the *_all helpers only ever see this module's objects."""
    return {kind: server.new_key(f"client-{kind}") for kind in ("sync", "async")}


@pytest.fixture(params=["sync", "async"])
def sdk(request, server, project_keys):
    client, close = open_client(
        request.param, api_key=project_keys[request.param], api_base_url=server.base_url
    )
    yield client
    close()


@pytest.fixture(params=["sync", "async"])
def fresh_sdk(request, server):
    """A client for a brand-new, empty project."""
    key = server.new_key(f"fresh-{request.param}-{time.monotonic_ns()}")
    client, close = open_client(request.param, api_key=key, api_base_url=server.base_url)
    yield client
    close()


def test_files(sdk):
    by_path = sdk.files.upload(JFK, client_reference_id="ref-1")
    assert by_path.filename == "jfk.flac" and by_path.size == JFK.stat().st_size
    assert by_path.client_reference_id == "ref-1"
    by_str = sdk.files.upload(str(JFK), filename="renamed.flac")
    assert by_str.filename == "renamed.flac"
    by_bytes = sdk.files.upload(b"\x00" * 1000)
    assert by_bytes.filename == "upload.bin" and by_bytes.size == 1000
    with JFK.open("rb") as stream:
        by_stream = sdk.files.upload(stream)
    assert by_stream.filename == "jfk.flac" and by_stream.size == by_path.size
    assert sdk.files.upload(io.BytesIO(b"abc"), filename="x.wav").size == 3

    assert sdk.files.get(by_path.id) == by_path
    assert sdk.files.get(file_id=by_path.id) == by_path  # the Soniox SDK's parameter names
    assert list(inspect.signature(sdk.raw.files.get).parameters) == ["file_id"]
    assert sdk.files.get_or_none(by_path.id) == by_path
    assert sdk.files.get_or_none(MISSING) is None
    assert sdk.files.get_or_none("not-a-uuid") is None
    assert sdk.files.count().total >= 5
    page = sdk.files.list(limit=2)
    assert len(page.files) == 2 and page.next_page_cursor
    second = sdk.files.list(limit=2, cursor=page.next_page_cursor)
    assert not {f.id for f in page.files} & {f.id for f in second.files}
    assert by_path.id in {f.id for f in sdk.files.list_all(limit=3)}

    sdk.files.delete(by_bytes.id)
    assert sdk.files.get_or_none(by_bytes.id) is None
    with pytest.raises(HarkNotFoundError) as info:
        sdk.files.delete(by_bytes.id)
    assert info.value.status_code == 404 and info.value.error_type == "file_not_found"
    sdk.files.delete_if_exists(by_bytes.id)  # swallowed
    sdk.files.delete_if_exists(by_str.id)
    assert sdk.files.get_or_none(by_str.id) is None
    with pytest.raises(HarkNotFoundError):
        sdk.files.get(MISSING)


def test_transcription_lifecycle(sdk):
    file = sdk.files.upload(JFK)
    job = sdk.stt.create(
        file_id=file.id,
        client_reference_id="job-ref",
        config=CreateTranscriptionConfig(
            language_hints=["en"], context={"general": {"topic": "speech"}, "terms": ["America"]}
        ),
    )
    assert isinstance(job, Transcription) and job.status == "queued"
    assert job.file_id == file.id and job.client_reference_id == "job-ref"
    assert job.context == {"general": [{"key": "topic", "value": "speech"}], "terms": ["America"]}
    assert sdk.stt.get(job.id).id == job.id

    seen: list[Transcription] = []
    done = sdk.stt.wait(job.id, interval_sec=0.5, timeout_sec=120, on_progress=seen.append)
    assert done.status == "completed" and done.progress == 1.0 and done.finished
    assert seen[-1] == done
    progress = [t.progress for t in seen]
    assert progress == sorted(progress)

    transcript = sdk.stt.get_transcript(job.id)
    assert isinstance(transcript, Transcript) and transcript.id == job.id
    assert jiwer.wer(JFK_TEXT, normalize(transcript.text)) <= 0.10
    assert "".join(t.text for t in transcript.tokens) == transcript.text
    assert transcript.to_srt().startswith("1\n00:00:0")
    assert transcript.to_vtt().startswith("WEBVTT\n\n00:00:0")
    assert transcript.to_text().strip() == transcript.text.strip()

    assert sdk.stt.count().total >= 1
    page = sdk.stt.list(limit=1)
    assert len(page.transcriptions) == 1
    assert job.id in {t.id for t in sdk.stt.list_all()}
    assert sdk.stt.get_or_none(transcription_id=job.id) is not None
    assert list(inspect.signature(sdk.raw.stt.delete).parameters) == ["transcription_id"]

    sdk.stt.delete(job.id)
    assert sdk.stt.get_or_none(job.id) is None
    assert sdk.stt.get_or_none("not-a-uuid") is None
    with pytest.raises(HarkNotFoundError):
        sdk.stt.delete(job.id)
    sdk.stt.delete_if_exists(job.id)
    assert sdk.files.get(file.id).id == file.id  # the file outlives its transcription


def test_transcribe_helpers(sdk):
    job = sdk.stt.transcribe_from_file(file=JFK, client_reference_id="both")
    assert job.client_reference_id == "both"
    assert sdk.files.get(job.file_id).client_reference_id == "both"

    again = sdk.stt.transcribe_from_file_id(file_id=job.file_id)
    assert again.file_id == job.file_id
    from_bytes = sdk.stt.transcribe(file=HOTWORDS.read_bytes(), filename="hot.mp3")
    assert sdk.files.get(from_bytes.file_id).filename == "hot.mp3"
    by_id = sdk.stt.transcribe(file_id=job.file_id, model="stt-async-v3")
    assert by_id.model == "stt-async-v3"
    for job_id in (job.id, again.id, from_bytes.id, by_id.id):
        assert sdk.stt.wait(job_id, interval_sec=0.5, timeout_sec=120).status == "completed"

    finished = sdk.stt.transcribe_and_wait(
        file=JFK, delete_after=True, wait_interval_sec=0.5, wait_timeout_sec=120
    )
    assert finished.status == "completed"
    assert sdk.stt.get_or_none(finished.id) is None
    assert sdk.files.get_or_none(finished.file_id) is None

    transcript = sdk.stt.transcribe_and_wait_with_tokens(
        file=HOTWORDS,
        config=CreateTranscriptionConfig(context={"terms": ["ComfyUI"]}),
        delete_after=True,
        wait_interval_sec=0.5,
        wait_timeout_sec=120,
    )
    assert "ComfyUI" in transcript.text
    assert sdk.stt.get_or_none(transcript.id) is None

    kept = sdk.stt.transcribe_and_wait_with_tokens(file_id=job.file_id, wait_interval_sec=0.5)
    assert sdk.stt.get(kept.id).status == "completed"
    sdk.stt.destroy(job.id)  # deletes the transcription, then its (shared) file
    assert sdk.stt.get_or_none(job.id) is None
    assert sdk.files.get_or_none(job.file_id) is None
    sdk.stt.destroy(again.id)  # its file is gone already: only not-found is ignored
    with pytest.raises(HarkNotFoundError):
        sdk.stt.destroy(again.id)


def test_arguments_are_checked_before_sending(sdk):
    before = sdk.files.count().total
    with pytest.raises(HarkValidationError, match="not both"):
        sdk.stt.create(file_id=MISSING, audio_url="http://example.invalid/a.wav")
    with pytest.raises(HarkValidationError, match="exactly one"):
        sdk.stt.transcribe(file=JFK, file_id=MISSING)
    with pytest.raises(HarkValidationError, match="exactly one"):
        sdk.stt.transcribe_and_wait()
    with pytest.raises(HarkValidationError, match="limit"):
        sdk.files.list(limit=0)
    with pytest.raises(HarkValidationError, match="limit"):
        list(sdk.stt.list_all(limit=1001))
    with pytest.raises(HarkValidationError, match="expires_in_seconds"):
        sdk.auth.create_temporary_api_key(expires_in_seconds=3601)
    with pytest.raises(HarkValidationError, match="target_language"):
        sdk.stt.create(file_id=MISSING, config={"translation": {"type": "one_way"}})
    with pytest.raises(HarkValidationError):
        sdk.files.upload(12345)
    assert sdk.files.count().total == before


def test_errors_from_the_server(sdk, server):
    with pytest.raises(HarkInvalidRequestError) as info:
        sdk.stt.create(file_id=MISSING)
    error = info.value
    assert error.status_code == 400 and error.error_type == "file_not_found"
    assert error.validation_errors[0].location == "body.file_id"
    assert error.request_id and error.request_id in str(error)
    assert error.response is not None and error.response.headers["x-request-id"] == error.request_id

    file = sdk.files.upload(JFK)
    with pytest.raises(HarkInvalidRequestError, match="stt-async-v5"):
        sdk.stt.create(file_id=file.id, model="no-such-model")

    bad = sdk.files.upload(b"garbage" * 100, filename="bad.wav")
    job = sdk.stt.wait(sdk.stt.create(file_id=bad.id).id, interval_sec=0.2, timeout_sec=60)
    assert job.status == "error" and job.error_type == "audio_decode_error"
    with pytest.raises(HarkConflictError) as conflict:
        sdk.stt.get_transcript(job.id)
    assert conflict.value.status_code == 409
    with pytest.raises(HarkConflictError):
        sdk.stt.transcribe_and_wait_with_tokens(file_id=bad.id, wait_interval_sec=0.2)

    kind = "async" if isinstance(sdk.raw, AsyncClient) else "sync"
    intruder, close = open_client(kind, api_key="hark_wrong_key", api_base_url=server.base_url)
    try:
        with pytest.raises(HarkAuthenticationError) as denied:
            intruder.files.list()
        assert denied.value.status_code == 401 and denied.value.error_type == "unauthenticated"
    finally:
        close()


def test_wait_times_out(sdk):
    job = sdk.stt.transcribe(file=JFK)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=job.id):
        sdk.stt.wait(job.id, interval_sec=0.05, timeout_sec=0.05)
    assert time.monotonic() - started < 5
    assert sdk.stt.wait(job.id, interval_sec=0.2, timeout_sec=120).status == "completed"
    sdk.stt.destroy(job.id)


def test_list_all_pages_lazily_while_deleting(fresh_sdk):
    sdk = fresh_sdk
    files = [sdk.files.upload(b"\x00" * (100 + i), filename=f"f{i}.wav") for i in range(7)]
    seen = []
    for file in sdk.files.list_all(limit=2):  # four pages; each item deleted as it is seen
        seen.append(file.id)
        sdk.files.delete(file.id)
    assert sorted(seen) == sorted(f.id for f in files)
    assert list(sdk.files.list_all()) == [] and sdk.files.count().total == 0

    # Laziness: a page is fetched only when the previous one is used up.
    for i in range(3):
        sdk.files.upload(b"\x01" * 10, filename=f"g{i}.wav")
    iterator = iter(sdk.files.list_all(limit=1))
    first = next(iterator)
    sdk.files.delete_all(limit=1)
    assert list(iterator) == []  # the rest were deleted before their pages were fetched
    assert first.filename.startswith("g") and sdk.files.count().total == 0


def test_bulk_deletes(fresh_sdk):
    sdk = fresh_sdk
    jobs = [sdk.stt.transcribe(file=JFK, filename=f"bulk{i}.flac") for i in range(3)]
    for job in jobs:
        sdk.stt.wait(job.id, interval_sec=0.2, timeout_sec=120)
    assert {j.id for j in jobs} == {t.id for t in sdk.stt.list_all(limit=2)}

    sdk.stt.delete_all(limit=2)  # transcriptions only; their files stay
    assert list(sdk.stt.list_all()) == []
    assert sdk.files.count().total == 3

    more = [sdk.stt.transcribe(file_id=j.file_id) for j in jobs]
    for job in more:
        sdk.stt.wait(job.id, interval_sec=0.2, timeout_sec=120)
    sdk.stt.destroy_all(limit=2)  # transcriptions and their files
    assert sdk.stt.count().total == 0 and sdk.files.count().total == 0

    sdk.files.upload(b"\x00" * 10)
    sdk.files.delete_all()
    assert sdk.files.count().total == 0


def test_models_and_raw_requests(sdk):
    models = sdk.models.list().models
    assert {"stt-async-v5", "stt-async-v3"} <= {m.id for m in models}
    modes = {m.id: m.transcription_mode for m in models if m.languages}
    assert len(modes) == len(models)
    assert {i for i, mode in modes.items() if mode == "real_time"} == {
        "stt-rt-v5",
        "stt-rt-v4",
        "stt-rt-v3",
        "stt-rt-preview",
    }
    assert {"stt-async-v5", "stt-async-v3"} <= {i for i, m in modes.items() if m == "async"}
    response = sdk.request("GET", "models")
    assert response.status_code == 200 and response.json()["models"]
    missing = sdk.request("GET", f"/files/{MISSING}")  # errors are returned, not raised
    assert missing.status_code == 404 and missing.json()["error_type"] == "file_not_found"


def test_configuration_from_environment(server, project_keys, monkeypatch):
    monkeypatch.setenv("HARK_API_KEY", project_keys["sync"])
    monkeypatch.setenv("HARK_API_BASE_URL", server.base_url)
    with Client() as client:
        assert client.api_base_url == server.base_url
        assert client.models.list().models

    async def use_async() -> int:
        async with AsyncClient(timeout_sec=5, client_kwargs={"headers": {"X-Extra": "1"}}) as ac:
            assert ac.timeout_sec == 5
            return len((await ac.files.list(limit=1)).files)

    assert asyncio.run(use_async()) <= 1

    monkeypatch.delenv("HARK_API_KEY")
    monkeypatch.delenv("HARK_API_BASE_URL")
    with pytest.raises(HarkValidationError, match="api_key"):
        Client()
    default = Client(api_key="k")
    assert default.api_base_url == "http://127.0.0.1:8000/v1"
    assert default.websocket_base_url == "ws://127.0.0.1:8000/transcribe-websocket"
    secure = Client(api_key="k", api_base_url="https://stt.example:8443/v1/")
    assert secure.api_base_url == "https://stt.example:8443/v1"
    assert secure.websocket_base_url == "wss://stt.example:8443/transcribe-websocket"


def test_permission_and_rate_limit_errors_from_the_server(sdk, server):
    kind = "async" if isinstance(sdk.raw, AsyncClient) else "sync"
    temporary = sdk.auth.create_temporary_api_key(expires_in_seconds=60).api_key
    limited_project = f"client-limited-{kind}-{time.monotonic_ns()}"
    limited_key = server.new_key(limited_project)
    server.hark("limits", f"--project={limited_project}", "--max-pending-transcriptions=1")
    holder, close = open_client(kind, api_key=temporary, api_base_url=server.base_url)
    try:
        with pytest.raises(HarkPermissionDeniedError) as denied:
            holder.files.list()
        assert denied.value.status_code == 403 and denied.value.error_type == "permission_denied"
    finally:
        close()
    limited, close = open_client(
        kind, api_key=limited_key, api_base_url=server.base_url, max_retries=0
    )
    try:
        file = limited.files.upload(LONGFORM)
        limited.stt.create(file_id=file.id)
        with pytest.raises(HarkRateLimitError) as throttled:
            limited.stt.create(file_id=file.id)
        assert throttled.value.status_code == 429
        assert throttled.value.error_type == "too_many_pending_transcriptions"
    finally:
        close()

"""The official `soniox` 2.x SDK from PyPI, pointed at Hark, drives the whole flow."""

from __future__ import annotations

import jiwer
import pytest
from soniox import SonioxClient
from soniox.errors import SonioxConflictError, SonioxInvalidRequestError, SonioxNotFoundError
from soniox.types import CreateTranscriptionConfig, TranslationConfig

from support import HOTWORDS, JFK, normalize

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def soniox(server):
    key = server.new_key("soniox-sdk")  # a project of its own, so *_all helpers touch only it
    client = SonioxClient(api_key=key, api_base_url=server.base_url)
    yield client
    client.close()


def test_upload_transcribe_and_fetch(soniox):
    file = soniox.files.upload(JFK, client_reference_id="sdk-ref")
    assert file.filename == "jfk.flac" and file.size == JFK.stat().st_size
    assert soniox.files.get(file.id).client_reference_id == "sdk-ref"
    job = soniox.stt.create(file_id=file.id)
    job = soniox.stt.wait(job.id, interval_sec=0.1, timeout_sec=120)
    assert job.status == "completed" and job.audio_duration_ms == 11000
    transcript = soniox.stt.get_transcript(job.id)
    assert (
        jiwer.wer(normalize(JFK.with_suffix(".txt").read_text()), normalize(transcript.text))
        <= 0.10
    )
    assert "".join(t.text for t in transcript.tokens) == transcript.text


def test_transcribe_and_wait_with_delete_after(soniox):
    before = soniox.files.count().total if hasattr(soniox.files, "count") else None
    job = soniox.stt.transcribe_and_wait(
        file=HOTWORDS,
        config=CreateTranscriptionConfig(context={"terms": ["ComfyUI"]}),
        delete_after=True,
        wait_interval_sec=0.1,
        wait_timeout_sec=120,
    )
    assert job.status == "completed"
    # Both the transcription and its uploaded file are gone afterwards.
    assert soniox.stt.get_or_none(job.id) is None
    assert soniox.files.get_or_none(job.file_id) is None
    if before is not None:
        assert soniox.files.count().total == before


def test_transcribe_and_wait_with_tokens(soniox):
    result = soniox.stt.transcribe_and_wait_with_tokens(
        file=HOTWORDS,
        config=CreateTranscriptionConfig(context={"terms": ["ComfyUI"]}),
        wait_interval_sec=0.1,
        wait_timeout_sec=120,
    )
    assert "ComfyUI" in result.text


def test_missing_ids(soniox):
    assert soniox.files.get_or_none(MISSING) is None
    assert soniox.files.get_or_none("not-a-uuid") is None
    assert soniox.stt.get_or_none(MISSING) is None
    soniox.files.delete_if_exists(MISSING)
    soniox.stt.delete_if_exists("not-a-uuid")
    with pytest.raises(SonioxNotFoundError):
        soniox.files.get(MISSING)
    with pytest.raises(SonioxNotFoundError):
        soniox.stt.delete(MISSING)


def test_errors_map_to_sdk_exceptions(soniox):
    with pytest.raises(SonioxInvalidRequestError):
        soniox.stt.create(file_id=MISSING)
    with pytest.raises(SonioxInvalidRequestError) as info:
        soniox.stt.create(file_id=soniox.files.upload(JFK).id, model="no-such-model")
    assert "stt-async-v5" in str(info.value)
    bad = soniox.files.upload(b"garbage" * 100, filename="bad.wav")
    job = soniox.stt.wait(soniox.stt.create(file_id=bad.id).id, interval_sec=0.1, timeout_sec=60)
    assert job.status == "error" and job.error_type == "audio_decode_error"
    with pytest.raises(SonioxConflictError):
        soniox.stt.get_transcript(job.id)


def test_listing_and_bulk_deletes(soniox):
    files = [soniox.files.upload(JFK, filename=f"bulk{i}.flac") for i in range(3)]
    jobs = [soniox.stt.create(file_id=f.id) for f in files]
    for job in jobs:
        soniox.stt.wait(job.id, interval_sec=0.1, timeout_sec=120)
    listed = {t.id for t in soniox.stt.list_all()}
    assert {j.id for j in jobs} <= listed
    assert {f.id for f in files} <= {f.id for f in soniox.files.list_all()}
    page = soniox.files.list(limit=2)
    assert len(page.files) == 2 and page.next_page_cursor
    # destroy_all deletes transcriptions and their files while paging through the list.
    soniox.stt.destroy_all()
    assert list(soniox.stt.list_all()) == []
    assert not {f.id for f in files} & {f.id for f in soniox.files.list_all()}
    soniox.files.upload(JFK)
    soniox.files.delete_all()
    assert list(soniox.files.list_all()) == []


def test_models(soniox):
    models = soniox.models.list().models
    ids = {m.id for m in models}
    assert {"stt-async-v5", "stt-async-v3", "whisper-tiny.en"} <= ids


def test_speakers_and_translation(soniox):
    """The SDK's own config types for diarization and translation reach Hark's engines, and
    its Token type reads the speaker and translation fields back."""
    config = CreateTranscriptionConfig(
        enable_speaker_diarization=True,
        translation=TranslationConfig(type="one_way", target_language="es"),
        context={"translation_terms": {"Americans": "estadounidenses"}},
    )
    result = soniox.stt.transcribe_and_wait_with_tokens(
        file=JFK, config=config, wait_interval_sec=0.1, wait_timeout_sec=120
    )
    tokens = result.tokens
    assert {t.speaker for t in tokens} == {"1"}
    translated = [t for t in tokens if t.translation_status == "translation"]
    assert translated and {(t.language, t.source_language) for t in translated} == {("es", "en")}
    assert "estadounidenses" in "".join(t.text for t in translated)
    model = next(m for m in soniox.models.list().models if m.id == "stt-async-v5")
    assert [t.target_language for t in model.translation_targets] == ["es"]
    assert model.two_way_translation_pairs == ["en:es"]

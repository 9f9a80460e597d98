"""hark.engine on its own: containers, tokens, context, errors. No HTTP, no database."""

from __future__ import annotations

import jiwer
import pytest

from hark.engine import (
    AudioDecodeError,
    EngineConfig,
    TranscribeOptions,
    decode_audio,
    get_pipeline,
    is_multilingual,
    model_languages,
)
from hark.jobs import engine_options
from hark.store import Transcription
from support import HOTWORDS, JFK, normalize
from support.media import encode, video_without_audio

JFK_REFERENCE = (JFK.with_suffix(".txt")).read_text()


@pytest.fixture(scope="module")
def engine():
    return get_pipeline(EngineConfig(num_workers=1))


def test_model_is_loaded_once_per_process(engine):
    assert get_pipeline(EngineConfig(num_workers=1)) is engine


@pytest.mark.parametrize(
    ("name", "codec", "video"),
    [
        ("jfk.wav", "pcm_s16le", None),
        ("jfk.mp3", "libmp3lame", None),
        ("jfk.ogg", "libopus", None),
        ("jfk.m4a", "aac", None),
        ("jfk.webm", "libopus", None),
        ("jfk.mp4", "aac", "mpeg4"),
    ],
)
def test_common_containers_transcribe(engine, tmp_path, name, codec, video):
    path = encode(JFK, tmp_path / name, codec, video=video)
    transcript = engine.transcribe_file(path)
    assert jiwer.wer(normalize(JFK_REFERENCE), normalize(transcript.text)) <= 0.10


def test_tokens_concatenate_to_text_with_ms_timings(engine):
    durations = []
    progress = []
    transcript = engine.transcribe_file(
        JFK, on_progress=progress.append, on_duration=durations.append
    )
    assert durations == [11000, 11000]  # as the container declares it, then as decoded
    assert "".join(t.text for t in transcript.tokens) == transcript.text
    assert not transcript.text.startswith(" ")
    starts = [t.start_ms for t in transcript.tokens]
    assert starts == sorted(starts)
    for token in transcript.tokens:
        assert 0 <= token.start_ms <= token.end_ms <= 11000
        assert 0.0 <= token.confidence <= 1.0
        assert token.speaker is None
    assert progress == sorted(progress) and 0 < progress[-1] <= 1.0


def test_partials_and_segments_come_from_the_decoder(engine):
    """on_partial gets each decoded segment's words in order, before the result; the
    transcript keeps faster-whisper's segments with their own figures."""
    partials: list[list] = []
    transcript = engine.transcribe_file(JFK, on_partial=partials.append)
    assert len(partials) == len(transcript.segments) >= 2
    assert "".join(t.text for words in partials for t in words) == transcript.text
    timed = [(t.text, t.start_ms, t.end_ms) for words in partials for t in words]
    assert timed == [(t.text, t.start_ms, t.end_ms) for t in transcript.tokens]
    for index, segment in enumerate(transcript.segments):
        assert segment.id == index and segment.tokens
        assert 0 <= segment.start_ms < segment.end_ms <= 11_000
        assert segment.avg_logprob < 0 and 0 <= segment.no_speech_prob <= 1
        assert segment.compression_ratio > 0 and segment.temperature == 0.0
    assert "".join(s.text for s in transcript.segments).strip() == transcript.text
    fixed = engine.transcribe_file(
        JFK, TranscribeOptions(temperature=0.4, vad=(("threshold", 0.6),))
    )
    assert {s.temperature for s in fixed.segments} == {0.4}


def test_hotwords_fix_rare_terms(engine):
    plain = engine.transcribe_file(HOTWORDS).text
    boosted = engine.transcribe_file(HOTWORDS, TranscribeOptions(hotwords=("ComfyUI",))).text
    assert "ComfyUI" not in plain
    assert boosted.count("ComfyUI") == 2


def test_prompt_fixes_rare_terms(engine):
    text = engine.transcribe_file(HOTWORDS, TranscribeOptions(prompt="ComfyUI workflows")).text
    assert "ComfyUI" in text


def test_language_identification_tags_tokens(engine):
    transcript = engine.transcribe_file(JFK, TranscribeOptions(enable_language_identification=True))
    assert {t.language for t in transcript.tokens} == {"en"}


@pytest.mark.parametrize(
    ("content", "error_type"),
    [(b"", "audio_decode_error"), (b"this is not audio at all" * 100, "audio_decode_error")],
)
def test_bad_input_raises_a_specific_error(tmp_path, content, error_type):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert info.value.error_type == error_type
    assert str(tmp_path) not in info.value.message  # no server paths in user-facing messages


def test_video_without_audio_is_reported(tmp_path):
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(video_without_audio(tmp_path / "silent.mp4"))
    assert info.value.error_type == "no_audio_stream"


def test_model_languages():
    assert not is_multilingual("default")
    assert model_languages("default") == {"en": "English"}
    assert is_multilingual("large-v3") and "de" in model_languages("large-v3")
    assert not is_multilingual("small.en")


def test_stored_request_maps_to_engine_options():
    job = Transcription(
        language_hints=["en", "de"],
        language_hints_strict=True,
        enable_language_identification=True,
        context={
            "general": [{"key": "domain", "value": "software"}],
            "text": "A tutorial about node editors.",
            "terms": ["ComfyUI", "LoRA"],
        },
    )
    options = engine_options(job)
    assert options.language_hints == ("en", "de") and options.language_hints_strict
    assert options.hotwords == ("ComfyUI", "LoRA")
    assert options.prompt == "domain: software\nA tutorial about node editors."
    assert engine_options(Transcription(context="plain context")).prompt == "plain context"

"""The OpenAI door through the official `openai` SDK, unchanged, against a real `hark serve`
(embedded and scaled out) with the real model: every response format, streaming,
translations, models, every error class, cancellation on disconnect, idempotent retries,
the cleanup rule, and a ten-minute file."""

from __future__ import annotations

import subprocess
import time

import httpx
import jiwer
import openai
import pytest

from support import AUDIO, JFK, LONGFORM, eventually, normalize, start_server, upload, wait_for
from support.subtitle_parsing import check_cues, parse_srt, parse_vtt

pytestmark = pytest.mark.backends("embedded", "scaled")

SAMPLE = AUDIO / "diarization" / "pyannote_sample" / "sample.wav"
JFK_TEXT = normalize(JFK.with_suffix(".txt").read_text())
LIBRISPEECH = sorted((AUDIO / "librispeech").glob("*/*.flac"))


def wer(text: str, reference: str = JFK_TEXT) -> float:
    return jiwer.wer(reference, normalize(text))


@pytest.fixture(scope="module")
def project_key(server) -> str:
    """This module's own project, so listings show only its jobs."""
    return server.new_key(f"openai-{time.monotonic_ns()}")


@pytest.fixture
def client(server, project_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=project_key, max_retries=0)


def fresh(server) -> tuple[str, httpx.Client]:
    """A new empty project: its key and a native API client for it."""
    key = server.new_key(f"openai-fresh-{time.monotonic_ns()}")
    return key, server.client(key)


def listing(api: httpx.Client) -> tuple[list[dict], list[dict]]:
    return api.get("/transcriptions").json()["transcriptions"], api.get("/files").json()["files"]


# -- response formats ----------------------------------------------------------------------


def test_json_answers_and_cleans_up(server):
    key, api = fresh(server)
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    result = client.audio.transcriptions.create(model="whisper-1", file=JFK)
    assert wer(result.text) < 0.1
    assert result.usage.type == "duration" and result.usage.seconds == pytest.approx(11.0, 0.01)
    # Answered, so its file and job are gone (the documented rule).
    eventually(lambda: listing(api) == ([], []))


def test_keep_keeps_an_ordinary_file_and_job(server):
    key, api = fresh(server)
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    result = client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=JFK, language="en", extra_body={"keep": True}
    )
    jobs, files = listing(api)
    assert len(jobs) == 1 and len(files) == 1
    job = jobs[0]
    assert job["status"] == "completed" and job["file_id"] == files[0]["id"]
    assert job["filename"] == "jfk.flac" and job["language_hints"] == ["en"]
    assert job["client_reference_id"] == "openai:transcribe"
    native = api.get(f"/transcriptions/{job['id']}/transcript").json()
    assert native["text"].strip() == result.text
    assert set(native) == {"id", "text", "tokens"}  # no decoder extras on the Soniox route
    assert "partial_text" not in job


def test_text_srt_and_vtt(client):
    text = client.audio.transcriptions.create(model="whisper-1", file=JFK, response_format="text")
    assert isinstance(text, str) and text.endswith("\n") and wer(text) < 0.1
    srt = client.audio.transcriptions.create(model="whisper-1", file=JFK, response_format="srt")
    cues = parse_srt(srt)
    check_cues(cues)
    assert wer(" ".join(line for cue in cues for line in cue.lines)) < 0.1
    assert cues[-1].end_ms <= 11_100
    vtt = client.audio.transcriptions.create(model="whisper-1", file=JFK, response_format="vtt")
    vtt_cues = parse_vtt(vtt)
    check_cues(vtt_cues)
    assert [(c.start_ms, c.end_ms) for c in vtt_cues] == [(c.start_ms, c.end_ms) for c in cues]


def test_verbose_json_has_the_decoders_values(client):
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=LONGFORM,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.task == "transcribe" and result.language == "english"
    assert result.duration == pytest.approx(69.24, abs=0.05)
    assert result.usage.seconds == pytest.approx(result.duration)
    segments, words = result.segments, result.words
    assert len(segments) >= 3
    assert [s.id for s in segments] == list(range(len(segments)))
    assert "".join(s.text for s in segments).strip() == result.text
    for previous, segment in zip([None, *segments], segments, strict=False):
        assert 0 <= segment.start < segment.end <= result.duration + 0.01
        assert previous is None or previous.end <= segment.start + 0.01
        assert previous is None or previous.seek <= segment.seek
        assert segment.tokens and all(isinstance(t, int) and t > 0 for t in segment.tokens)
        assert -5 < segment.avg_logprob < 0
        assert 0 < segment.compression_ratio < 5
        assert 0 <= segment.no_speech_prob <= 1
        assert segment.temperature in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    # Real decoder values: one set per 30 s decoding window (segments of a window share
    # them, as in Whisper), different from window to window; placeholders would not be.
    windows = {s.seek for s in segments}
    assert len(windows) >= 3
    assert len({(s.seek, s.avg_logprob, s.no_speech_prob) for s in segments}) == len(windows)
    assert len({s.avg_logprob for s in segments}) == len(windows)
    assert len(words) > 100 and wer(" ".join(w.word for w in words), normalize(result.text)) == 0
    for previous, word in zip([None, *words], words, strict=False):
        assert word.start <= word.end
        assert previous is None or previous.start <= word.start
        assert any(s.start - 0.01 <= word.start and word.end <= s.end + 0.01 for s in segments)

    only_words = client.audio.transcriptions.create(
        model="whisper-1",
        file=JFK,
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert only_words.words and only_words.segments is None
    default = client.audio.transcriptions.create(
        model="whisper-1", file=JFK, response_format="verbose_json"
    )
    assert default.segments and default.words is None


def test_diarized_json_names_the_speakers(client):
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=SAMPLE,
        response_format="diarized_json",
        known_speaker_names=["Diane", "Sheila"],
    )
    assert result.task == "transcribe" and result.duration == pytest.approx(30.0, abs=0.05)
    segments = result.segments
    assert {s.speaker for s in segments} == {"Diane", "Sheila"}
    assert segments[0].speaker == "Diane"  # the first voice heard (the RTTM reference)
    assert all(s.type == "transcript.text.segment" for s in segments)
    assert len({s.id for s in segments}) == len(segments)
    assert all(s.start <= s.end for s in segments)
    assert " ".join(s.text for s in segments).split() == result.text.split()
    assert result.usage.seconds == pytest.approx(30.0, abs=0.05)

    lettered = client.audio.transcriptions.create(
        model="whisper-1", file=SAMPLE, response_format="diarized_json"
    )
    assert {s.speaker for s in lettered.segments} == {"A", "B"}


# -- streaming -----------------------------------------------------------------------------


def test_stream_relays_text_as_it_is_decoded(client):
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=LONGFORM, stream=True
    )
    deltas: list[tuple[float, str]] = []
    done = None
    for event in stream:
        if event.type == "transcript.text.delta":
            deltas.append((time.monotonic(), event.delta))
        elif event.type == "transcript.text.done":
            done = (time.monotonic(), event)
    assert done is not None
    finished, event = done
    assert len(deltas) > 1
    assert "".join(d for _, d in deltas) == event.text
    # The first words arrive while the rest is still being decoded, not all at the end.
    assert deltas[0][0] < finished - 1.0
    assert event.usage.seconds == pytest.approx(69.24, abs=0.05)
    assert wer(event.text, normalize(LONGFORM.with_suffix(".txt").read_text())) < 0.4


def test_stream_of_diarized_output_has_segment_events(client):
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=SAMPLE,
        stream=True,
        known_speaker_names=["Diane", "Sheila"],
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[-1] == "transcript.text.done" and "transcript.text.delta" in kinds
    segments = [e for e in events if e.type == "transcript.text.segment"]
    assert {s.speaker for s in segments} == {"Diane", "Sheila"}
    assert kinds.index("transcript.text.segment") > kinds.index("transcript.text.delta")


# -- translations ------------------------------------------------------------------------


# The SDK marks audio.translations deprecated; Hark still serves it.
translations = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")


@translations
def test_translation_of_english_speech_passes_through(client):
    translated = client.audio.translations.create(model="whisper-1", file=JFK)
    assert wer(translated.text) < 0.1
    verbose = client.audio.translations.create(
        model="whisper-1", file=JFK, response_format="verbose_json"
    )
    assert verbose.task == "translate" and verbose.language == "english"
    assert verbose.segments
    srt = client.audio.translations.create(model="whisper-1", file=JFK, response_format="srt")
    check_cues(parse_srt(srt))


@translations
def test_translation_the_model_cannot_do_is_refused_naming_what_is_available(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.translations.create(
            model="whisper-1",
            file=AUDIO / "multilingual" / "fleurs" / "de" / "fleurs-de-000.ogg",
            extra_body={"language": "de"},
        )
    error = caught.value.body
    assert error["param"] == "language"
    assert "English" in error["message"] and "multilingual" in error["message"]
    with pytest.raises(openai.BadRequestError, match="diarized_json"):
        client.audio.translations.create(
            model="whisper-1", file=JFK, response_format="diarized_json"
        )


# -- models --------------------------------------------------------------------------------


def test_models_serve_both_sdks(client, server, project_key):
    ids = [m.id for m in client.models.list()]
    for name in ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "stt-async-v5"):
        assert name in ids
    model = client.models.retrieve("gpt-4o-transcribe-diarize")
    assert model.object == "model" and model.owned_by == "hark" and model.created > 0
    with server.client(project_key) as api:
        body = api.get("/models").json()
    assert body["object"] == "list" and body["models"][0]["id"] == body["data"][0]["id"]
    engine = body["models"][0]["id"]
    assert {m["hark_model"] for m in body["data"]} == {engine}  # every id runs one model
    with pytest.raises(openai.NotFoundError, match="whisper-1"):
        client.models.retrieve("gpt-5-nonexistent")


# -- errors --------------------------------------------------------------------------------


def test_each_error_class(client, server, tmp_path):
    bad_key = openai.OpenAI(base_url=server.base_url, api_key="hark_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad_key.audio.transcriptions.create(model="whisper-1", file=JFK)
    assert caught.value.body["code"] == "invalid_api_key"
    missing = httpx.post(
        f"{server.base_url}/audio/transcriptions",
        files={"file": ("jfk.flac", JFK.read_bytes())},
        data={"model": "whisper-1"},
    )
    assert missing.status_code == 401 and set(missing.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }

    with server.client() as api:
        temporary = api.post(
            "/auth/temporary-api-key",
            json={"usage_type": "transcribe_websocket", "expires_in_seconds": 60},
        ).json()["api_key"]
    with pytest.raises(openai.PermissionDeniedError):
        openai.OpenAI(
            base_url=server.base_url, api_key=temporary, max_retries=0
        ).audio.transcriptions.create(model="whisper-1", file=JFK)

    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.transcriptions.create(model="whisper-9", file=JFK)
    assert caught.value.body["param"] == "model"

    garbage = tmp_path / "notes.wav"
    garbage.write_text("these are meeting notes, not audio\n" * 50)
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=garbage)
    assert "could not be read as audio" in caught.value.message
    assert caught.value.body["code"] == "audio_decode_error"
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=JFK, response_format="docx")
    assert (
        caught.value.body["param"] == "response_format" and "verbose_json" in caught.value.message
    )
    with pytest.raises(openai.BadRequestError, match="verbose_json"):
        client.audio.transcriptions.create(
            model="whisper-1", file=JFK, timestamp_granularities=["word"]
        )
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.audio.transcriptions.create(model="whisper-1", file=JFK, temperature=1.5)


def test_quota_errors(server):
    small = f"openai-small-{time.monotonic_ns()}"
    key = server.new_key(small)
    server.hark("limits", f"--project={small}", "--max-file-size=100000", "--max-files=1")
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=LONGFORM)  # > 100 kB
    assert caught.value.status_code == 413 and caught.value.body["param"] == "file"
    small_file = AUDIO / "librispeech" / "dev-clean" / "1988-24833-0000.flac"  # 57 kB
    with server.client(key) as api:
        upload(api, small_file)
    with pytest.raises(openai.RateLimitError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=small_file)
    assert caught.value.body["code"] == "file_limit_exceeded"


def test_server_failure_is_an_internal_server_error(tmp_path_factory):
    """A server whose model cannot be loaded: the job fails, the SDK raises (no retries)."""
    broken = start_server(
        tmp_path_factory.mktemp("broken"),
        api_key="hark_broken_key_1234",
        model=str(tmp_path_factory.mktemp("no-model")),
    )
    try:
        client = openai.OpenAI(base_url=broken.base_url, api_key=broken.api_key)
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError) as caught:
            client.audio.transcriptions.create(model="whisper-1", file=JFK)
        assert caught.value.body["type"] == "server_error"
        assert time.monotonic() - started < 30  # x-should-retry: false, no back-off retries
    finally:
        broken.stop()


# -- the job queue: disconnects, retries ---------------------------------------------------


def _post_and_hang_up(server, key: str, seconds: float, **headers: str) -> None:
    """Send LONGFORM to the door and hang up after `seconds` without an answer."""
    timeout = httpx.Timeout(connect=5, read=seconds, write=60, pool=5)
    with pytest.raises(httpx.ReadTimeout), LONGFORM.open("rb") as audio:
        httpx.post(
            f"{server.base_url}/audio/transcriptions",
            headers={"Authorization": f"Bearer {key}", **headers},
            files={"file": (LONGFORM.name, audio)},
            data={"model": "whisper-1", "keep": "true"},
            timeout=timeout,
        )


def test_a_client_that_disconnects_cancels_its_job(server):
    key, api = fresh(server)
    _post_and_hang_up(server, key, 2.0)
    eventually(lambda: listing(api)[0])
    job = listing(api)[0][0]
    final = wait_for(api, job["id"], timeout=30)
    assert final["status"] == "error" and final["error_type"] == "cancelled"
    # The worker is free: the next request is answered.
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    assert wer(client.audio.transcriptions.create(model="whisper-1", file=JFK).text) < 0.1


def test_idempotency_key_keeps_the_job_for_a_retry(server):
    key, api = fresh(server)
    _post_and_hang_up(server, key, 1.0, **{"Idempotency-Key": "retry-me-1"})
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    with LONGFORM.open("rb") as audio:
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=(LONGFORM.name, audio),
            extra_body={"keep": True},
            extra_headers={"Idempotency-Key": "retry-me-1"},
        )
    assert "ivory" in result.text
    jobs, _ = listing(api)
    assert len(jobs) == 1 and jobs[0]["status"] == "completed"  # the same job, not a second


# -- configurations and long files --------------------------------------------------------


@pytest.mark.slow
def test_keep_alive_outlasts_client_read_timeouts_on_a_ten_minute_file(
    embedded_server, tmp_path_factory
):
    """About ten minutes of real recordings (LibriSpeech, concatenated with sox): the
    answer comes, though the client gives up after 20 s without a byte."""
    path = tmp_path_factory.mktemp("ten") / "ten-minutes.flac"
    subprocess.run(["sox", *map(str, LIBRISPEECH * 7), str(path)], check=True)
    key = embedded_server.new_key(f"openai-long-{time.monotonic_ns()}")
    client = openai.OpenAI(
        base_url=embedded_server.base_url,
        api_key=key,
        max_retries=0,
        timeout=20.0,  # seconds without a byte (and for connecting, sending)
    )
    result = client.audio.transcriptions.create(model="whisper-1", file=path)
    assert result.usage.seconds == pytest.approx(7 * 92.34, abs=1)
    assert len(result.text.split()) > 1000
    assert "kittens" in result.text.lower()

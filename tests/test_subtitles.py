"""hark.subtitles (pure) and GET /v1/transcriptions/{id}/transcript?format=text|srt|vtt."""

from __future__ import annotations

import pytest

from hark import subtitles
from hark.client import Token
from support import JFK, assert_error, transcribe
from support.subtitle_parsing import check_cues, parse_srt, parse_vtt


def words(text: str, start: int = 0, step: int = 300, gap: int = 0, **extra) -> list[dict]:
    """One token per word, each `step` ms long, `gap` ms apart (Whisper-style leading spaces;
    the first word gets one too if `text` starts with a space)."""
    tokens = []
    for i, word in enumerate(text.split()):
        begin = start + i * (step + gap)
        piece = (" " if i or text[:1] == " " else "") + word
        tokens.append({"text": piece, "start_ms": begin, "end_ms": begin + step, **extra})
    return tokens


def texts(cues: list[subtitles.Cue]) -> list[str]:
    return [" ".join(c.lines) for c in cues]


def test_sentence_ends_close_a_cue():
    tokens = words("Hello there. How are you? Fine!  Thanks.")
    assert texts(subtitles.cues(tokens)) == ["Hello there.", "How are you?", "Fine!", "Thanks."]
    quoted = words('He said "stop." Then left.')
    assert texts(subtitles.cues(quoted)) == ['He said "stop."', "Then left."]


def test_pauses_close_a_cue():
    tokens = words("one two", step=300) + words(" three four", start=600 + 700)
    assert texts(subtitles.cues(tokens)) == ["one two", "three four"]
    close = words("one two", step=300) + words(" three four", start=600 + 650)
    assert texts(subtitles.cues(close)) == ["one two three four"]
    assert texts(subtitles.cues(close, pause_ms=600)) == ["one two", "three four"]


def test_lines_and_cues_stay_within_limits():
    text = " ".join(f"word{i}" for i in range(60))  # no punctuation, no pauses
    cues = subtitles.cues(words(text, step=100))
    assert len(cues) > 3
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)
        assert cue.end_ms - cue.start_ms <= 7000
    assert " ".join(texts(cues)) == text  # nothing lost or reordered
    # Two lines are balanced rather than one full line and a stub.
    two = subtitles.wrap(["a" * 20, "b" * 20, "c" * 5])
    assert two == ["a" * 20, "b" * 20 + " " + "c" * 5]
    assert subtitles.wrap(["x" * 43]) == []


def test_cues_last_at_most_seven_seconds():
    cues = subtitles.cues(words("a b c d e f g h i j k l", step=1000))
    assert all(c.end_ms - c.start_ms <= 7000 for c in cues) and len(cues) == 2


def test_long_clauses_break_at_commas():
    text = "this sentence is fairly long and goes on, so it should break at the comma there"
    first = subtitles.cues(words(text, step=100))[0]
    assert " ".join(first.lines) == "this sentence is fairly long and goes on,"


def test_speakers_and_sub_word_tokens():
    tokens = [
        {"text": "Hel", "start_ms": 0, "end_ms": 100, "speaker": "1"},
        {"text": "lo", "start_ms": 100, "end_ms": 200, "speaker": "1"},
        {"text": " ", "start_ms": 200, "end_ms": 200, "speaker": "1"},
        {"text": "world", "start_ms": 200, "end_ms": 400, "speaker": "1"},
        {"text": " Hi", "start_ms": 400, "end_ms": 500, "speaker": "2"},
    ]
    cues = subtitles.cues(tokens)
    assert texts(cues) == ["Hello world", "Hi"] and [c.speaker for c in cues] == ["1", "2"]
    assert subtitles.render_text(tokens) == "Speaker 1: Hello world\n\nSpeaker 2: Hi\n"
    objects = [Token(**t) for t in tokens]
    assert subtitles.render_srt(objects) == subtitles.render_srt(tokens)


def test_words_longer_than_a_line_are_cut():
    cues = subtitles.cues([{"text": "x" * 100, "start_ms": 0, "end_ms": 1000}])
    assert [len(line) for c in cues for line in c.lines] == [42, 42, 16]


def test_formats():
    tokens = words("One <two> & three --> four.", start=3_661_001, step=100)
    srt = subtitles.render_srt(tokens)
    assert srt == "1\n01:01:01,001 --> 01:01:01,801\nOne <two> & three -> four.\n"
    vtt = subtitles.render_vtt(tokens)
    assert (
        vtt == "WEBVTT\n\n01:01:01.001 --> 01:01:01.801\nOne &lt;two&gt; &amp; three -&gt; four.\n"
    )
    assert subtitles.render_text(tokens) == "One <two> & three --> four.\n"
    assert subtitles.render(tokens, "srt") == srt
    with pytest.raises(ValueError, match="unknown subtitle format"):
        subtitles.render(tokens, "ass")
    assert subtitles.render_srt([]) == "" and subtitles.render_vtt([]) == "WEBVTT\n"
    assert subtitles.render_text([]) == ""


def test_short_cues_are_extended_but_never_overlap():
    tokens = words("Yes.", step=100) + words(" No.", start=500, step=100)
    srt = parse_srt(subtitles.render_srt(tokens))
    assert [(c.start_ms, c.end_ms) for c in srt] == [(0, 500), (500, 1300)]
    untimed = [{"text": "Hi."}, {"text": " there", "start_ms": 1000, "end_ms": 1200}]
    check_cues(parse_srt(subtitles.render_srt(untimed)))


@pytest.fixture(scope="module")
def jfk_job(server):
    with server.client() as api:
        job, transcript = transcribe(api, JFK)
    assert transcript is not None
    return job, transcript


def test_transcript_formats_over_http(api, jfk_job):
    job, transcript = jfk_job
    url = f"/transcriptions/{job['id']}/transcript"
    assert api.get(url).json() == transcript == api.get(url, params={"format": "json"}).json()

    text = api.get(url, params={"format": "text"})
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == transcript["text"].strip() + "\n"

    srt = api.get(url, params={"format": "srt"})
    assert srt.status_code == 200
    assert srt.headers["content-type"] == "application/x-subrip; charset=utf-8"
    cues = parse_srt(srt.text)
    check_cues(cues)
    assert cues[-1].end_ms <= job["audio_duration_ms"] + 1000
    spoken = " ".join(line for c in cues for line in c.lines)
    assert spoken.split() == transcript["text"].split()

    vtt = api.get(url, params={"format": "vtt"})
    assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    vtt_cues = parse_vtt(vtt.text)
    assert [(c.start_ms, c.end_ms, c.lines) for c in vtt_cues] == [
        (c.start_ms, c.end_ms, c.lines) for c in cues
    ]


def test_transcript_format_errors(api, jfk_job):
    job, _ = jfk_job
    url = f"/transcriptions/{job['id']}/transcript"
    error = assert_error(api.get(url, params={"format": "xml"}), 400, "invalid_request")
    assert error["validation_errors"][0]["location"] == "query.format"
    missing = "/transcriptions/00000000-0000-0000-0000-000000000000/transcript"
    assert_error(api.get(missing, params={"format": "srt"}), 404)

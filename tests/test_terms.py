"""Context terms spelled as given (hark.engine.terms): the matcher on its own, then on real
speech through the engine, where the spelling must not depend on how beam ties break."""

from __future__ import annotations

import pytest

from hark.engine import EngineConfig, Token, TranscribeOptions, get_pipeline
from hark.engine.terms import respell, spellings
from support import HOTWORDS


def words(*texts: str) -> list[Token]:
    """Word tokens 500 ms apart, each 400 ms long, with falling confidences."""
    return [
        Token(text, start_ms=500 * i, end_ms=500 * i + 400, confidence=1 - i / 100)
        for i, text in enumerate(texts)
    ]


def text(tokens: list[Token]) -> str:
    return "".join(t.text for t in tokens)


@pytest.mark.parametrize(
    ("decoded", "expected"),
    [
        (("I", " use", " comfyUI", " daily."), "I use ComfyUI daily."),
        (("I", " use", " COMFYUI."), "I use ComfyUI."),
        (("I", " use", " comfy", " UI", " daily."), "I use ComfyUI daily."),
        (("I", " use", " Comfy-UI,", " daily."), "I use ComfyUI, daily."),
        (("I", " use", " comfy-", "ui", " daily."), "I use ComfyUI daily."),
        (("I", " use", ' "comfy', ' ui"', " daily."), 'I use "ComfyUI" daily.'),
        (("comfyui", " is", " nice."), "ComfyUI is nice."),
    ],
)
def test_a_term_is_spelled_as_given_across_case_spacing_and_hyphens(decoded, expected):
    tokens = respell(words(*decoded), ["ComfyUI"])
    assert text(tokens) == expected


def test_a_term_split_over_tokens_becomes_one_token_spanning_them():
    decoded = words("I", " use", " comfy", " UI", " daily.")
    tokens = respell(decoded, ["ComfyUI"])
    assert [t.text for t in tokens] == ["I", " use", " ComfyUI", " daily."]
    merged = tokens[2]
    assert (merged.start_ms, merged.end_ms) == (decoded[2].start_ms, decoded[3].end_ms)
    assert merged.confidence == decoded[3].confidence  # the weaker of the two
    assert tokens[3] == decoded[4]


def test_a_term_of_several_words_keeps_each_words_timing():
    decoded = words(" we", " flew", " to", " new", " york", " city.")
    tokens = respell(decoded, ["New York City"])
    assert text(tokens) == " we flew to New York City."
    assert [(t.start_ms, t.end_ms) for t in tokens] == [(t.start_ms, t.end_ms) for t in decoded]


def test_multi_word_term_decoded_as_one_word():
    tokens = respell(words(" the", " newyork", " office"), ["New York"])
    assert text(tokens) == " the New York office"


@pytest.mark.parametrize(
    "decoded",
    [
        (" supercomfyui", " here"),  # the term inside a longer word
        (" comfyuis", " here"),
        (" comfy", "uix", " here"),  # a word continued by a sub-word token
        (" comfy.", " UI", " here"),  # punctuation between the parts
        (" comfy", " here"),  # only part of the term
    ],
)
def test_no_match_inside_longer_words_or_across_punctuation(decoded):
    tokens = words(*decoded)
    assert respell(tokens, ["ComfyUI"]) == tokens


def test_the_longest_term_wins_and_the_first_spelling_of_a_key():
    tokens = words(" new", " york", " times", " and", " NEW", " YORK")
    out = respell(tokens, ["New York", "New York Times", "new-york"])
    assert text(out) == " New York Times and New York"


def test_punctuation_around_a_term_stays_as_decoded():
    assert text(respell(words(" acme", " inc."), ["Acme Inc."])) == " Acme Inc."
    assert text(respell(words(" (acme)"), ["ACME"])) == " (ACME)"


def test_prompt_words_count_when_their_case_marks_a_name():
    prompt = "The team builds ComfyUI workflows on an iPhone for NASA."
    assert spellings(["Kubernetes"], prompt) == ["Kubernetes", "ComfyUI", "iPhone", "NASA"]
    assert spellings([], "ALL OF THIS IS SHOUTED, COMFYUI") == []
    # Capitalised prompt words do not respell the transcript's "the".
    tokens = words(" the", " team")
    assert respell(tokens, spellings([], "The team")) == tokens


def test_no_terms_leave_tokens_alone():
    tokens = words("Hello", " world.")
    assert respell(tokens, []) == tokens
    assert respell([], ["ComfyUI"]) == []
    assert respell(tokens, ["-", "  "]) == tokens


@pytest.fixture(scope="module")
def engine():
    return get_pipeline(EngineConfig(num_workers=1))


@pytest.mark.parametrize(
    "options",
    [TranscribeOptions(prompt="ComfyUI workflows"), TranscribeOptions(hotwords=("ComfyUI",))],
    ids=["prompt", "terms"],
)
def test_the_term_comes_out_as_given_on_real_speech(engine, options):
    transcript = engine.transcribe_file(HOTWORDS, options)
    assert "ComfyUI" in transcript.text
    assert "comfyui" not in transcript.text.replace("ComfyUI", "").lower()
    assert transcript.text == "".join(t.text for t in transcript.tokens)
    starts = [t.start_ms for t in transcript.tokens]
    assert starts == sorted(starts)
    assert all(t.start_ms <= t.end_ms for t in transcript.tokens)

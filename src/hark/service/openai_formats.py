"""OpenAI's response formats and streaming events (CONTRACTS §5.3) from a Hark transcript:
pure functions of the stored tokens and the decoder's segments."""

from __future__ import annotations

from typing import Any

from hark import subtitles
from hark.store import TranscriptRow

from .openai import AudioRequest

MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
JSON_FORMATS = ("json", "verbose_json", "diarized_json")


def seconds(ms: int | None) -> float:
    return round((ms or 0) / 1000, 3)


def usage(duration_ms: int | None) -> dict[str, Any]:
    """OpenAI's usage for audio models billed by duration."""
    return {"type": "duration", "seconds": seconds(duration_ms)}


def result_text(request: AudioRequest, row: TranscriptRow) -> str:
    """The answer's text: for a translation through a translation engine, what it
    produced in English (translated tokens, and speech that was English already)."""
    if request.task == "translate" and any(
        t.get("translation_status") == "translation" for t in row.tokens
    ):
        return "".join(
            t["text"] for t in row.tokens if t.get("translation_status") != "original"
        ).strip()
    return row.text.strip()


def _decoding(row: TranscriptRow) -> dict[str, Any]:
    return row.decoding or {}


def duration_ms(row: TranscriptRow, fallback: int | None) -> int | None:
    return _decoding(row).get("duration_ms", fallback)


def verbose(
    request: AudioRequest, row: TranscriptRow, languages: dict[str, str], audio_ms: int | None
) -> dict[str, Any]:
    decoding = _decoding(row)
    code = decoding.get("language") or "en"
    body: dict[str, Any] = {
        "task": "translate" if request.task == "translate" else "transcribe",
        "language": "english" if request.task == "translate" else languages.get(code, code).lower(),
        "duration": seconds(duration_ms(row, audio_ms)),
        "text": result_text(request, row),
    }
    if "segment" in request.granularities:
        body["segments"] = [
            {
                "id": s["id"],
                "seek": s["seek"],
                "start": seconds(s["start_ms"]),
                "end": seconds(s["end_ms"]),
                "text": s["text"],
                "tokens": s["tokens"],
                "temperature": s["temperature"],
                "avg_logprob": s["avg_logprob"],
                "compression_ratio": s["compression_ratio"],
                "no_speech_prob": s["no_speech_prob"],
            }
            for s in decoding.get("segments", [])
        ]
    if "word" in request.granularities:
        body["words"] = [
            {"word": w.text, "start": seconds(w.start_ms), "end": seconds(w.end_ms)}
            for w in subtitles.words_of(row.tokens)
        ]
    body["usage"] = usage(duration_ms(row, audio_ms))
    return body


def speaker_names(request: AudioRequest, row: TranscriptRow) -> dict[str | None, str]:
    """Hark's speaker labels in order of appearance -> the known names given, then A, B, …"""
    names: dict[str | None, str] = {}
    for token in row.tokens:
        label = token.get("speaker")
        if label not in names:
            index = len(names)
            known = request.known_speaker_names
            names[label] = known[index] if index < len(known) else _letters(index)
    return names


def _letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def diarized_segments(request: AudioRequest, row: TranscriptRow) -> list[dict[str, Any]]:
    names = speaker_names(request, row)
    return [
        {
            "type": "transcript.text.segment",
            "id": f"seg_{index}",
            "start": seconds(sentence.start_ms),
            "end": seconds(sentence.end_ms),
            "text": sentence.text,
            "speaker": names.get(sentence.speaker, names.get(None, "A")),
        }
        for index, sentence in enumerate(subtitles.sentences(row.tokens))
    ]


def render(
    request: AudioRequest, row: TranscriptRow, languages: dict[str, str], audio_ms: int | None
) -> dict[str, Any] | str:
    """The answer in the request's response_format: a JSON object, or text."""
    fmt = request.response_format
    if fmt == "json":
        return {"text": result_text(request, row), "usage": usage(duration_ms(row, audio_ms))}
    if fmt == "verbose_json":
        return verbose(request, row, languages, audio_ms)
    if fmt == "diarized_json":
        return {
            "task": "transcribe",
            "duration": seconds(duration_ms(row, audio_ms)),
            "text": result_text(request, row),
            "segments": diarized_segments(request, row),
            "usage": usage(duration_ms(row, audio_ms)),
        }
    if fmt == "text":
        return result_text(request, row) + "\n"
    return subtitles.render(row.tokens, fmt)


# -- streaming (server-sent events) --------------------------------------------------------


def delta_event(delta: str) -> dict[str, Any]:
    return {"type": "transcript.text.delta", "delta": delta}


def done_event(request: AudioRequest, row: TranscriptRow, audio_ms: int | None) -> dict[str, Any]:
    return {
        "type": "transcript.text.done",
        "text": result_text(request, row),
        "usage": usage(duration_ms(row, audio_ms)),
    }

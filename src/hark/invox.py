"""The Invox Medical asynchronous API's wire format (CONTRACTS §3): accepted mime types,
sentence segments in seconds, statuses, and the signed callback body.

Pure Python with no dependencies beyond `hark.subtitles`, like it: the service, the API
and the store (which writes each callback in the transaction that finishes its job) use it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hark.subtitles import render_vtt, sentences

# The types Invox lists (§3.2) and their common aliases, with the extension their files get.
MIME_TYPES = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/vnd.wave": ".wav",
    "audio/mp3": ".mp3",
    "audio/mpeg": ".mp3",
    "audio/m4a": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/mp4": ".m4a",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/webm": ".webm",
}
LISTED_MIME_TYPES = ("audio/x-wav", "audio/wav", "audio/mp3", "audio/m4a", "audio/flac")
LISTED_MIME_TYPES += ("audio/ogg", "audio/webm")

# Hark's job statuses as Invox's processing statuses.
STATUSES = {"queued": "PENDING", "processing": "PENDING", "completed": "COMPLETED"}
STATUSES |= {"error": "ERROR"}


def normalize_mime(value: str) -> str:
    """`" Audio/WebM;codecs=opus"` -> `"audio/webm"`: trimmed, lower-case, no parameters."""
    return value.split(";", 1)[0].strip().lower()


def extension(mime_type: str) -> str | None:
    """The file extension for an accepted mime type; None for any other."""
    return MIME_TYPES.get(normalize_mime(mime_type))


def seconds(ms: int | None) -> int | float:
    """Milliseconds as seconds; whole seconds as integers, so the JSON text is the same in
    every language (JavaScript writes 2.0 as 2)."""
    value = round((ms or 0) / 1000, 3)
    return int(value) if value.is_integer() else value


def segments(
    tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Sentence-level `{start, end, text, speaker?}` segments, times in seconds; `speaker`
    only where the tokens carry one (diarization): its name in `speaker_names`, if given."""
    out = []
    for sentence in sentences(tokens):
        segment: dict[str, Any] = {
            "start": seconds(sentence.start_ms),
            "end": seconds(sentence.end_ms),
            "text": sentence.text,
        }
        if sentence.speaker is not None:
            segment["speaker"] = (speaker_names or {}).get(sentence.speaker) or sentence.speaker
        out.append(segment)
    return out


def vtt(tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None) -> str:
    return render_vtt(tokens, speaker_names)


def json_text(value: Any) -> str:
    """Compact JSON, as JavaScript's JSON.stringify writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json_text(value)
    return str(value)


def sign(payload: Mapping[str, Any], api_key: str, secret: str) -> str:
    """Invox's webhook signature (§3.4): every field but `signature`, in payload order,
    stringified (objects as JSON text, null as ""), then `api_key`, joined with "|";
    HMAC-SHA256 keyed with `secret`, Base64."""
    values = [_stringify(v) for k, v in payload.items() if k != "signature"]
    message = "|".join([*values, api_key]).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def callback_body(
    request_id: str,
    transcription: list[dict[str, Any]],
    created_at_ms: int,
    app_id: str,
    secret: str,
) -> str:
    """The callback POSTed when a request's job finishes: `{requestId, transcription,
    signature, createdAt}`, signed over requestId, transcription and createdAt with the
    requesting credential's app id as the public key element."""
    payload: dict[str, Any] = {
        "requestId": request_id,
        "transcription": transcription,
        "signature": "",
        "createdAt": created_at_ms,
    }
    payload["signature"] = sign(payload, app_id, secret)
    return json_text(payload)

"""Translation between the legacy Soniox messages and Hark's requests and transcripts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from hark import __version__
from hark.service import FieldError, InvalidRequest, Transcription
from hark.service.audio import CONTAINER_FORMATS as PROBED
from hark.service.audio import MAX_CHANNELS, RAW_FORMATS
from hark.service.files import MAX_REFERENCE_LENGTH
from hark.service.models import ModelCatalog
from hark.service.requests import CreateTranscription

from . import speech_service_pb2 as pb

MAX_MESSAGE = 6 * 1024 * 1024  # the 1.x SDK's limit on every message, both ways
# Words per result response: room to spare below MAX_MESSAGE for the rest of the message.
RESULT_BUDGET = 4 * 1024 * 1024

STATUS = {
    "queued": "QUEUED",
    "processing": "TRANSCRIBING",
    "completed": "COMPLETED",
    "error": "FAILED",
}

# Formats decoded by probing the container (the 1.x SDK sends "" for "find out").
CONTAINER_FORMATS = PROBED | {""}
# Legacy model names: a language code, then a version and variants (en_v2, en_v2_lowlatency).
LEGACY_MODEL = re.compile(r"^([a-z]{2,3})_[a-z0-9_]+$")
PENDING_FILE = "pending"  # stands in for the file id until the upload is stored


def _invalid(message: str, field: str) -> InvalidRequest:
    return InvalidRequest(message, validation_errors=[FieldError(field, message)])


def transcription_request(
    config: pb.TranscriptionConfig, reference_name: str, catalog: ModelCatalog
) -> CreateTranscription:
    """The Hark request a TranscribeAsync config asks for. Options Hark has no capability
    for (profanity filter, content moderation, speaker identification, dictation, endpoint
    detection, storage and document formatting) are accepted and ignored."""
    if len(reference_name) > MAX_REFERENCE_LENGTH:
        raise _invalid(
            f"reference_name is longer than {MAX_REFERENCE_LENGTH} characters.", "reference_name"
        )
    model, language = _model(config.model, catalog)
    diarize = (
        config.enable_global_speaker_diarization or config.enable_streaming_speaker_diarization
    )
    phrases = [p for entry in config.speech_context.entries for p in entry.phrases if p.strip()]
    return CreateTranscription(
        model=model,
        file_id=PENDING_FILE,
        language_hints=[language] if language else None,
        enable_speaker_diarization=diarize or None,
        min_speakers=(config.min_num_speakers or None) if diarize else None,
        max_speakers=(config.max_num_speakers or None) if diarize else None,
        enable_separate_recognition_per_channel=(
            config.enable_separate_recognition_per_channel or None
        ),
        # Speech-context phrases bias recognition as context terms (hotwords); boosts and
        # stored contexts (by name) have no equivalent.
        context={"terms": list(dict.fromkeys(phrases))} if phrases else None,
        client_reference_id=reference_name or None,
    )


def _model(name: str, catalog: ModelCatalog) -> tuple[str, str | None]:
    """Hark's model for a legacy model name, and the language the name implies."""
    if not name or name in catalog.names:
        return name or catalog.model_id, None
    if legacy := LEGACY_MODEL.match(name):
        return catalog.model_id, legacy.group(1)
    raise _invalid(
        f"Unknown model {name!r}. Use {', '.join(catalog.names)}, or a legacy name that "
        "starts with a language code (such as en_v2); empty means the default.",
        "config.model",
    )


def raw_format(config: pb.TranscriptionConfig) -> str | None:
    """The raw sample format of the upload (None for a container format), checked."""
    audio_format = config.audio_format
    if audio_format in CONTAINER_FORMATS:
        return None
    if audio_format not in RAW_FORMATS:
        known = ", ".join(sorted(PROBED | set(RAW_FORMATS)))
        raise _invalid(
            f"Unsupported audio_format {audio_format!r} (supported: {known}).",
            "config.audio_format",
        )
    if config.sample_rate_hertz <= 0 or config.num_audio_channels <= 0:
        raise _invalid(
            f"audio_format {audio_format} needs sample_rate_hertz and num_audio_channels.",
            "config.sample_rate_hertz",
        )
    if config.num_audio_channels > MAX_CHANNELS:
        raise _invalid(
            f"num_audio_channels is {config.num_audio_channels}; raw audio may have at most "
            f"{MAX_CHANNELS}.",
            "config.num_audio_channels",
        )
    return audio_format


def file_status(job: Transcription) -> pb.TranscribeAsyncFileStatus:
    return pb.TranscribeAsyncFileStatus(
        file_id=job.id,
        reference_name=job.client_reference_id or "",
        status=STATUS[job.status],
        error_message=(job.error_message or "Transcription failed.")
        if job.status == "error"
        else "",
        created_time=timestamp(job.created_at),
    )


def timestamp(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when.astimezone(UTC).replace(tzinfo=None))  # naive UTC: any protobuf
    return stamp


def status_response(jobs: Iterable[Transcription]) -> pb.GetTranscribeAsyncStatusResponse:
    """Statuses of `jobs` in order, as many as fit in one message (newest first when
    listing, so only the oldest of a very large project can be left out)."""
    response = pb.GetTranscribeAsyncStatusResponse()
    size = 0
    for job in jobs:
        status = file_status(job)
        size += _framed(status.ByteSize())
        if size > MAX_MESSAGE - 1024:
            break
        response.files.append(status)
    return response


def word(token: dict) -> pb.Word:
    start = int(token.get("start_ms") or 0)
    end = int(token.get("end_ms") or start)
    speaker = str(token.get("speaker") or "")
    return pb.Word(
        text=token["text"].strip(),
        start_ms=start,
        duration_ms=max(end - start, 0),
        is_final=True,  # every word of an async result is final
        speaker=int(speaker) if speaker.isdigit() else 0,
        confidence=float(token.get("confidence") or 0.0),
    )


_PUNCTUATION = re.compile(r"^([^\w\s]*)(.*?)([^\w\s]*)$", re.DOTALL)


def spaced_words(tokens: list[dict]) -> list[pb.Word]:
    """Words for `explicit_space` clients: spaces and punctuation as words of their own, so
    joining the texts with "" gives the spaced sentence (and " " still separates words)."""
    words: list[pb.Word] = []
    for token in tokens:
        text = token["text"]
        if not text.strip():
            continue
        final = bool(token.get("is_final", True))
        whole = word(token)
        whole.is_final = final
        if text[:1].isspace():  # (the first word of a stream has no space before it)
            words.append(pb.Word(text=" ", start_ms=whole.start_ms, is_final=final))
        before, core, after = _PUNCTUATION.match(text.strip()).groups()
        stamp = {"start_ms": whole.start_ms, "is_final": final, "confidence": whole.confidence}
        words += [pb.Word(text=mark, **stamp) for mark in before]
        if core:
            whole.text = core
            words.append(whole)
        end = whole.start_ms + whole.duration_ms
        words += [pb.Word(text=mark, **{**stamp, "start_ms": end}) for mark in after]
    return words


def live_result(message: dict, include_nonfinal: bool) -> pb.Result:
    """A session message (final tokens, then the non-final tail) as a legacy Result."""
    tokens = [
        t
        for t in message["tokens"]
        if not t["text"].startswith("<") and (include_nonfinal or t["is_final"])
    ]
    return pb.Result(
        words=spaced_words(tokens),
        final_proc_time_ms=message["final_audio_proc_ms"],
        total_proc_time_ms=message["total_audio_proc_ms"],
    )


def live_metadata() -> pb.TranscriptionMetadata:
    return pb.TranscriptionMetadata(package_version=f"hark {__version__}", explicit_space=True)


def live_config(config: pb.TranscriptionConfig, catalog: ModelCatalog) -> dict:
    """The realtime session config a Transcribe/TranscribeStream config asks for."""
    model, language = _model(config.model, catalog)
    phrases = [p for entry in config.speech_context.entries for p in entry.phrases if p.strip()]
    raw = raw_format(config)
    return {
        "model": model,
        "audio_format": raw or "auto",
        "sample_rate": config.sample_rate_hertz or None,
        "num_channels": config.num_audio_channels or None,
        "language_hints": [language] if language else None,
        "context": {"terms": list(dict.fromkeys(phrases))} if phrases else None,
        "enable_endpoint_detection": config.enable_endpoint_detection or None,
    }


def result_responses(
    tokens: list[dict],
    per_channel: bool,
    audio_ms: int | None,
    budget: int = RESULT_BUDGET,
) -> Iterator[pb.GetTranscribeAsyncResultResponse]:
    """The GetTranscribeAsyncResult stream for a transcript: at least one response, each
    with `result` set and at most `budget` bytes of words; per channel, one result (or
    more) for every channel from 0 to the highest that spoke, so their numbers leave no
    gaps. Words are `explicit_space` words, as the live RPCs': spaces and punctuation are
    words of their own, so the legacy async guide's `"".join(w.text ...)` prints a normally
    spaced sentence while `" ".join` still separates the words."""
    by_channel: dict[int, list[dict]] = {0: []}
    for token in tokens:
        if token["text"].strip():
            channel = int(token.get("channel") or 0) if per_channel else 0
            by_channel.setdefault(channel, []).append(token)
    words: dict[int, list[pb.Word]] = {}
    for channel, found in by_channel.items():
        if found:  # each channel's text starts without a space
            found = [{**found[0], "text": found[0]["text"].lstrip()}, *found[1:]]
        words[channel] = spaced_words(found)
    processed = audio_ms or max(
        (w.start_ms + w.duration_ms for ws in words.values() for w in ws), default=0
    )
    metadata = pb.TranscriptionMetadata(package_version=f"hark {__version__}", explicit_space=True)
    for channel in range(max(words) + 1):
        found = words.get(channel, [])
        speakers = [pb.ResultSpeaker(speaker=s) for s in sorted({w.speaker for w in found} - {0})]
        for piece in _pieces(found, budget):
            result = pb.Result(
                words=piece,
                final_proc_time_ms=processed,
                total_proc_time_ms=processed,
                speakers=speakers,  # each response replaces the list: always all of them
                channel=channel,
            )
            yield pb.GetTranscribeAsyncResultResponse(
                result=result, separate_recognition_per_channel=per_channel, metadata=metadata
            )


def _pieces(words: list[pb.Word], budget: int) -> Iterator[list[pb.Word]]:
    """`words` in runs of at most `budget` serialized bytes; one (empty) run if none."""
    piece: list[pb.Word] = []
    size = 0
    for w in words:
        framed = _framed(w.ByteSize())
        if piece and size + framed > budget:
            yield piece
            piece, size = [], 0
        piece.append(w)
        size += framed
    yield piece


def _framed(size: int) -> int:
    """Bytes a nested message of `size` takes in its parent: tag, length, body."""
    return 1 + max(1, (size.bit_length() + 6) // 7) + size

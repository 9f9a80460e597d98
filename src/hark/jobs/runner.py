"""Runs one transcription job: claim it, transcribe its audio, store the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from hark.blobs import BlobStore
from hark.engine import (
    EngineConfig,
    EngineError,
    TranscribeOptions,
    WhisperEngine,
    get_engine,
    primary_language,
    probe_duration_ms,
)
from hark.settings import Settings
from hark.store import Store, Transcription

from .fetch import FetchLimits, fetched
from .net import AddressPolicy

log = logging.getLogger(__name__)


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        model=settings.model,
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        num_workers=max(settings.workers, 1),
        beam_size=settings.beam_size,
        vad_filter=settings.vad_filter,
    )


def address_policy(settings: Settings) -> AddressPolicy:
    return AddressPolicy.of(settings.allow_private_urls, settings.allowed_private_networks)


def engine_loader(settings: Settings) -> Callable[[], WhisperEngine]:
    """Loads the configured model on first use; every later call returns the same one."""
    config = engine_config(settings)
    return lambda: get_engine(config)


def engine_options(job: Transcription) -> TranscribeOptions:
    """Translate the stored request into what the engine understands."""
    context = job.context
    prompt_parts: list[str] = []
    terms: list[str] = []
    if isinstance(context, str):
        prompt_parts.append(context)
    elif isinstance(context, dict):
        prompt_parts += [f"{g['key']}: {g['value']}" for g in context.get("general") or []]
        if context.get("text"):
            prompt_parts.append(context["text"])
        terms = list(context.get("terms") or [])
    return TranscribeOptions(
        language_hints=tuple(dict.fromkeys(primary_language(h) for h in job.language_hints or ())),
        language_hints_strict=bool(job.language_hints_strict),
        enable_language_identification=job.enable_language_identification,
        hotwords=tuple(terms),
        prompt="\n".join(prompt_parts) or None,
        separate_channels=bool(job.enable_separate_recognition_per_channel),
    )


@dataclass(frozen=True)
class RunnerConfig:
    progress_interval: float
    max_audio_seconds: float
    downloads_dir: Path
    fetch: FetchLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            progress_interval=settings.progress_interval,
            max_audio_seconds=settings.max_audio_duration_seconds,
            downloads_dir=settings.downloads_dir,
            fetch=FetchLimits(
                max_size=settings.max_file_size,
                total_seconds=settings.fetch_timeout,
                max_redirects=settings.fetch_max_redirects,
                addresses=address_policy(settings),
            ),
        )


class JobRunner:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        engine: Callable[[], WhisperEngine],
        config: RunnerConfig,
        on_finished: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.engine = engine
        self.config = config
        self.progress_interval = config.progress_interval
        # Called after a job completes or fails (e.g. to send its webhook right away).
        self.on_finished = on_finished

    def run(self, transcription_id: str) -> None:
        job = self.store.claim(transcription_id)
        if job is None:
            return  # deleted, already finished, or another worker owns it
        log.info("transcription %s: processing (attempt %d)", job.id, job.attempts)
        try:
            self._transcribe(job)
        except EngineError as exc:
            log.info("transcription %s: %s: %s", job.id, exc.error_type, exc.message)
            self.store.fail(job.id, exc.error_type, exc.message)
        except Exception:
            log.exception("transcription %s: unexpected failure", job.id)
            self.store.fail(
                job.id, "internal_error", "The server failed while transcribing this audio."
            )
        self.on_finished()

    @contextmanager
    def _audio(self, job: Transcription) -> Iterator[Path]:
        """A local path to the job's audio: its uploaded file, or a download of audio_url."""
        if job.audio_url:
            max_size = self._limit(job, "max_file_size", self.config.fetch.max_size)
            limits = replace(self.config.fetch, max_size=int(max_size))
            with fetched(job.audio_url, self.config.downloads_dir, limits) as path:
                yield path
            return
        file = self.store.get_file(job.project_id, job.file_id) if job.file_id else None
        if file is None:
            raise EngineError(
                "file_not_found", f"File {job.file_id} was deleted before it was transcribed."
            )
        try:
            with self.blobs.local_path(file.storage_key) as path:
                yield path
        except FileNotFoundError:
            raise EngineError(
                "file_not_found", f"The audio of file {file.id} is missing from storage."
            ) from None

    def _limit(self, job: Transcription, name: str, default: float) -> float:
        """A limit as overridden for the job's project (see `hark limits`)."""
        return (self.store.project_limits(job.project_id) or {}).get(name, default)

    def _check_duration(self, job: Transcription, duration_ms: int | None, limit: float) -> None:
        if duration_ms is None:
            return
        self.store.update_processing(job.id, audio_duration_ms=int(duration_ms))
        if duration_ms / 1000 > limit:
            raise EngineError(
                "audio_too_long",
                f"The audio is {duration_ms / 1000:.0f} s long; the maximum is {limit:g} s.",
            )

    def _transcribe(self, job: Transcription) -> None:
        engine = self.engine()
        last_write = 0.0

        def on_progress(fraction: float) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write >= self.progress_interval:
                last_write = now
                self.store.update_processing(job.id, progress=round(min(fraction, 0.999), 4))

        max_seconds = self._limit(job, "max_audio_duration_seconds", self.config.max_audio_seconds)
        with self._audio(job) as path:
            # The container's own figure refuses long audio before decoding it; decoding
            # stops at the limit too, for containers that declare none (or lie).
            self._check_duration(job, probe_duration_ms(path), max_seconds)
            transcript = engine.transcribe_file(
                path,
                engine_options(job),
                on_progress=on_progress,
                on_duration=lambda ms: self._check_duration(job, int(ms), max_seconds),
                max_seconds=max_seconds,
            )
        tokens = [token.to_dict() for token in transcript.tokens]
        if self.store.complete(job.id, transcript.text, tokens):
            log.info("transcription %s: completed (%d tokens)", job.id, len(tokens))

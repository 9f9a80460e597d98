"""Runs one transcription job: claim it, transcribe its audio, store the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hark.blobs import BlobStore
from hark.engine import (
    EngineConfig,
    EngineError,
    TranscribeOptions,
    WhisperEngine,
    get_engine,
    primary_language,
)
from hark.settings import Settings
from hark.store import Store, Transcription

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
    )


class JobRunner:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        engine: Callable[[], WhisperEngine],
        progress_interval: float = 0.5,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.engine = engine
        self.progress_interval = progress_interval

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

    def _transcribe(self, job: Transcription) -> None:
        file = self.store.get_file(job.project_id, job.file_id) if job.file_id else None
        if file is None:
            raise EngineError(
                "file_not_found", f"File {job.file_id} was deleted before it was transcribed."
            )
        engine = self.engine()
        last_write = 0.0

        def on_progress(fraction: float) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write >= self.progress_interval:
                last_write = now
                self.store.update_processing(job.id, progress=round(min(fraction, 0.999), 4))

        def on_duration(duration_ms: float) -> None:
            self.store.update_processing(job.id, audio_duration_ms=int(duration_ms))

        try:
            with self.blobs.local_path(file.storage_key) as path:
                transcript = engine.transcribe_file(
                    path, engine_options(job), on_progress=on_progress, on_duration=on_duration
                )
        except FileNotFoundError:
            raise EngineError(
                "file_not_found", f"The audio of file {file.id} is missing from storage."
            ) from None
        tokens = [token.to_dict() for token in transcript.tokens]
        if self.store.complete(job.id, transcript.text, tokens):
            log.info("transcription %s: completed (%d tokens)", job.id, len(tokens))

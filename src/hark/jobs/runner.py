"""Runs one transcription job: claim it, transcribe its audio, store the outcome."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from hark.blobs import BlobStore
from hark.engine import (
    EngineConfig,
    EngineCrashed,
    EngineError,
    EngineProcess,
    EngineStopped,
    Pipeline,
    Supervision,
    Token,
    TranscribeOptions,
    Transcript,
    TranslationRequest,
    default_batch_size,
    get_translators,
    primary_language,
)
from hark.metrics import Metrics
from hark.settings import Settings
from hark.store import DATABASE_UNAVAILABLE, Store, Transcription

from .fetch import FetchLimits, fetch_into
from .net import AddressPolicy
from .periodic import Periodic
from .processes import this_process

log = logging.getLogger(__name__)

Engine = Pipeline | EngineProcess  # the same interface, in this process or in a child
T = TypeVar("T")


def engine_config(settings: Settings) -> EngineConfig:
    batch_size = settings.batch_size or default_batch_size(settings.device)
    return EngineConfig(
        model=settings.model,
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        # Batching: one scheduler thread drives the model, one replica is all it needs.
        num_workers=1 if batch_size > 1 else max(settings.workers, 1),
        beam_size=settings.beam_size,
        vad_filter=settings.vad_filter,
        translation_models_dir=settings.translation_models_dir,
        apertium=settings.apertium,
        diarization_features=settings.diarization_features,
        batch_size=batch_size,
        batch_wait_ms=settings.batch_wait_ms,
    )


def job_concurrency(settings: Settings) -> int:
    """Jobs one worker process runs at once: with batching, enough to fill batches."""
    workers = max(settings.workers, 1)
    batching = (settings.batch_size or default_batch_size(settings.device)) > 1
    return max(workers, settings.batch_jobs) if batching else workers


def address_policy(settings: Settings) -> AddressPolicy:
    return AddressPolicy.of(settings.allow_private_urls, settings.allowed_private_networks)


def engine_process(settings: Settings) -> EngineProcess:
    """The configured engine in a supervised child process, started on first use."""
    faults = settings.data_dir / "engine-faults" if settings.engine_test_faults else None
    return EngineProcess(
        engine_config(settings),
        Supervision(settings.engine_stage_timeout, faults, nice=settings.engine_nice),
    )


def translation_pairs(settings: Settings) -> set[tuple[str, str]]:
    """(source, target) pairs the installed translation engines serve; loads no model."""
    return get_translators(engine_config(settings)).pairs()


class EngineRequest(Protocol):
    """What a request asks of the engine: a stored job (`Transcription`) or a realtime
    session's `SessionRequest`, read alike."""

    language_hints: list[str] | None
    language_hints_strict: bool | None
    enable_language_identification: bool
    enable_separate_recognition_per_channel: bool | None
    enable_speaker_diarization: bool
    min_speakers: int | None
    max_speakers: int | None
    context: object
    translation: dict | None
    decoder_options: dict | None


@dataclass(frozen=True)
class SessionRequest:
    """A request that is not a stored job (a realtime session): the same fields, plain."""

    language_hints: list[str] | None = None
    language_hints_strict: bool | None = None
    enable_language_identification: bool = False
    enable_separate_recognition_per_channel: bool | None = None
    enable_speaker_diarization: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    context: object = None
    translation: dict | None = None
    decoder_options: dict | None = None


def engine_options(job: EngineRequest) -> TranscribeOptions:
    """Translate a request (stored or not) into what the engine understands."""
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
        diarize=job.enable_speaker_diarization,
        min_speakers=job.min_speakers,
        max_speakers=job.max_speakers,
        translation=translation_request(job.translation, context),
        temperature=(job.decoder_options or {}).get("temperature"),
        vad=tuple(sorted(((job.decoder_options or {}).get("vad") or {}).items())),
        # The OpenAI door's jobs want the decoder's own segments and text as it is decoded:
        # they are decoded on their own, not in the batching scheduler's windows.
        decoder_details=job.decoder_options is not None,
    )


def translation_request(translation: dict | None, context: object) -> TranslationRequest | None:
    if not translation:
        return None
    terms = (context.get("translation_terms") or []) if isinstance(context, dict) else []

    def code(name: str) -> str | None:  # "es-MX" / "ES" -> "es", as the engines name them
        value = translation.get(name)
        return primary_language(value) if value else None

    return TranslationRequest(
        type=translation["type"],
        target_language=code("target_language"),
        language_a=code("language_a"),
        language_b=code("language_b"),
        terms=tuple((t["source"], t["target"]) for t in terms),
    )


class JobLimits(Protocol):
    """The limits a job's project is held to (see hark.service.quotas)."""

    max_file_size: int
    max_audio_duration_seconds: float


@dataclass(frozen=True)
class RunnerConfig:
    progress_interval: float
    fetch: FetchLimits
    lease_seconds: float = 120.0
    lease_renew_seconds: float = 30.0
    engine_retries: int = 2  # a job the engine crashed under is tried this many more times

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            progress_interval=settings.progress_interval,
            lease_seconds=settings.lease_seconds,
            lease_renew_seconds=settings.lease_renew_seconds,
            engine_retries=settings.engine_max_retries,
            fetch=FetchLimits(
                max_size=settings.max_file_size,
                total_seconds=settings.fetch_timeout,
                max_redirects=settings.fetch_max_redirects,
                addresses=address_policy(settings),
            ),
        )


class LeaseLost(Exception):
    """This worker no longer holds the job (it was cancelled, or its lease ran out and it
    was handed to another worker): stop working on it. Raised from the engine's progress
    callback, it stops the engine there."""


@dataclass
class Claim:
    """A job this process holds: its lease token, renewed in the background while held."""

    job: Transcription
    owner: str
    started: float = field(default_factory=time.monotonic)
    audio_ms: int | None = None
    lost: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(self.job.id)


class JobRunner:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        engine: Callable[[], Engine],
        config: RunnerConfig,
        limits: Callable[[str], JobLimits],
        on_finished: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        in_flight_cap: Callable[[dict | None], int] = lambda _limits: 2**31,
        on_fetched: Callable[[str], None] = lambda _id: None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.engine = engine
        self.config = config
        self.limits = limits  # project id -> the limits in force for it
        self.lease = timedelta(seconds=config.lease_seconds)
        # Called after a job completes or fails (e.g. to send its webhook right away).
        self.on_finished = on_finished
        self.metrics = metrics or Metrics()
        # A project's limit overrides -> how many of its jobs may be processed at once.
        self.in_flight_cap = in_flight_cap
        # Called with a job id once its audio_url is downloaded: it may now be dispatched.
        self.on_fetched = on_fetched
        # Lease tokens name the process holding the job, for operators reading the table.
        self.name = this_process()

    def run_next(self) -> bool:
        """Run the job whose turn it is (projects take turns, within `in_flight_cap`);
        False when no job may start now."""
        owner = f"{self.name}/{uuid.uuid4().hex[:12]}"
        job = self.store.queue.claim_next(owner, self.lease, self.in_flight_cap)
        if job is None:
            return False
        self._process(job, owner)
        return True

    def fetch_next(self) -> bool:
        """The download stage: fetch the oldest audio_url job not fetched yet into the audio
        storage, then hand it to the engine stage (`on_fetched`). It stays queued meanwhile,
        holding no engine slot; a failed download fails the job. False when none is due."""
        owner = f"{self.name}/{uuid.uuid4().hex[:12]}"
        job = self.store.claim_fetch(owner, self.lease)
        if job is None:
            return False
        assert job.audio_url is not None
        claim = Claim(job, owner)
        limits = self.limits(job.project_id)
        fetch = replace(
            self.config.fetch,
            max_size=limits.max_file_size,
            addresses=self.config.fetch.addresses.widened(
                self.store.url_exceptions(job.project_id)
            ),
        )
        with self._renewing(claim):
            try:
                key = fetch_into(job.audio_url, self.blobs, fetch)
            except EngineError as exc:
                log.info("transcription %s: %s: %s", job.id, exc.error_type, exc.message)
                if self._fail(claim, exc.error_type, exc.message):
                    self.metrics.job_finished("error", time.monotonic() - claim.started, None)
                self.on_finished()
                return True
            except Exception:
                log.exception("transcription %s: downloading audio_url failed", job.id)
                self._fail(claim, "internal_error", "The server failed while fetching audio_url.")
                self.on_finished()
                return True
        if not self.store.store_fetched(job.id, owner, key):
            log.warning("transcription %s: no longer held after its download", job.id)
            self.blobs.delete(key)
            return True
        log.info("transcription %s: audio_url fetched", job.id)
        self.on_fetched(job.id)
        return True

    def _process(self, job: Transcription, owner: str) -> None:
        log.info("transcription %s: processing (attempt %d)", job.id, job.attempts)
        claim = Claim(job, owner)
        with self._renewing(claim):
            try:
                status = self._transcribe(claim)
            except LeaseLost:
                log.warning("transcription %s: no longer held (cancelled or lease lost)", job.id)
                self.on_finished()
                return
            except EngineStopped:  # shutting down: the job waits for the next worker
                if self.store.release(job.id, owner):
                    log.warning("transcription %s: interrupted by shutdown, re-queued", job.id)
                return
            except EngineError as exc:
                log.info("transcription %s: %s: %s", job.id, exc.error_type, exc.message)
                status = self._fail(claim, exc.error_type, exc.message)
            except DATABASE_UNAVAILABLE as exc:
                # Not the audio's fault, and the outcome cannot be recorded anyway: the job
                # stays claimed until its lease runs out, then it is queued again.
                log.warning(
                    "transcription %s: the database is unavailable (%s); it will be retried",
                    job.id,
                    type(exc).__name__,
                )
                return
            except Exception:
                log.exception("transcription %s: unexpected failure", job.id)
                status = self._fail(
                    claim, "internal_error", "The server failed while transcribing this audio."
                )
        if status is not None:
            seconds = time.monotonic() - claim.started
            audio = claim.audio_ms / 1000 if claim.audio_ms is not None else None
            self.metrics.job_finished(status, seconds, audio)
            if job.audio_key:  # fetched audio is kept only until the job is done
                self.blobs.delete(job.audio_key)
        self.on_finished()

    def with_engine(self, work: Callable[[Engine], T], what: str) -> T:
        """`work(engine)`; when the engine process crashed (or hung) under it, again with
        the fresh one, up to `engine_retries` times."""
        retries = self.config.engine_retries
        attempt = 0
        while True:
            try:
                return work(self.engine())
            except EngineCrashed as exc:
                attempt += 1
                if attempt > retries:
                    if not retries:
                        raise
                    raise EngineCrashed(
                        f"{exc.message} It was tried {attempt} times.", exc.stage, exc.exitcode
                    ) from exc
                log.warning("%s: %s Retrying (%d of %d).", what, exc.message, attempt, retries)

    def _fail(self, claim: Claim, error_type: str, message: str) -> str | None:
        return "error" if self.store.fail(claim.job.id, claim.owner, error_type, message) else None

    @contextmanager
    def _renewing(self, claim: Claim) -> Iterator[None]:
        """Renew the claim's lease every `lease_renew_seconds` until the block ends."""

        def renew() -> None:
            if not self.store.renew_lease(claim.job.id, claim.owner, self.lease):
                claim.lost.set()

        heartbeat = Periodic(
            f"hark-lease-{claim.job.id[:8]}", self.config.lease_renew_seconds, renew
        )
        heartbeat.start()
        try:
            yield
        finally:
            heartbeat.stop()

    @contextmanager
    def _audio(self, job: Transcription) -> Iterator[Path]:
        """A local path to the job's audio: its uploaded file, or what the download stage
        stored of its audio_url."""
        if job.audio_url:
            missing = "The audio fetched from audio_url is missing from storage."
            if not job.audio_key:  # the engine stage claims only fetched jobs
                raise EngineError("file_not_found", missing)
            try:
                with self.blobs.local_path(job.audio_key) as path:
                    yield path
            except FileNotFoundError:
                raise EngineError("file_not_found", missing) from None
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

    def _write(self, claim: Claim, **values: object) -> None:
        """Record progress on the job; stop (LeaseLost) once it is no longer ours."""
        if not self.store.update_processing(claim.job.id, claim.owner, **values):
            claim.lost.set()
            raise LeaseLost(claim.job.id)

    def _check_duration(self, claim: Claim, duration_ms: int | None, limit: float) -> None:
        if duration_ms is None:
            return
        claim.audio_ms = int(duration_ms)
        self._write(claim, audio_duration_ms=int(duration_ms))
        if duration_ms / 1000 > limit:
            raise EngineError(
                "audio_too_long",
                f"The audio is {duration_ms / 1000:.0f} s long; the maximum is {limit:g} s.",
            )

    def _transcribe(self, claim: Claim) -> str | None:
        """Returns the status the job ended in, or None if it was not this worker's to end."""
        job = claim.job
        last_write = 0.0

        def on_progress(fraction: float) -> None:
            nonlocal last_write
            claim.check()
            now = time.monotonic()
            if now - last_write >= self.config.progress_interval:
                last_write = now
                self._write(claim, progress=round(min(fraction, 0.999), 4))

        partial: list[str] = []

        def on_partial(tokens: list[Token]) -> None:
            # What the decoder has produced so far, for callers relaying it as it comes
            # (the OpenAI door's streaming); also a cancellation check, like progress.
            partial.append("".join(token.text for token in tokens))
            self._write(claim, partial_text="".join(partial))

        limits = self.limits(job.project_id)
        max_seconds = limits.max_audio_duration_seconds
        with self._audio(job) as path:

            def transcribe(engine: Engine) -> Transcript:
                claim.check()  # before a retry too: the job may have been deleted
                partial.clear()  # a retry decodes from the start again
                return engine.transcribe_file(
                    path,
                    engine_options(job),
                    on_progress=on_progress,
                    on_duration=lambda ms: self._check_duration(claim, int(ms), max_seconds),
                    max_seconds=max_seconds,
                    on_partial=on_partial,
                )

            transcript = self.with_engine(transcribe, f"transcription {job.id}")
        tokens = [token.to_dict() for token in transcript.tokens]
        decoding = {
            "language": transcript.language,
            "duration_ms": transcript.duration_ms,
            "segments": [segment.to_dict() for segment in transcript.segments],
        }
        if not self.store.complete(job.id, claim.owner, transcript.text, tokens, decoding):
            raise LeaseLost(job.id)
        log.info("transcription %s: completed (%d tokens)", job.id, len(tokens))
        return "completed"

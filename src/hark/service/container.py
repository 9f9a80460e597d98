"""`Hark`: everything one Hark process needs, wired from one Settings object (the ports
chosen by their URLs, the use cases over them, the background loops)."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from hark.blobs import S3Options, open_blob_store
from hark.jobs import (
    Dispatcher,
    InProcessDispatcher,
    JobRunner,
    JobSweeper,
    NoDispatcher,
    Periodic,
    RunnerConfig,
    Threads,
    WebhookPolicy,
    WebhookSender,
    address_policy,
    engine_process,
    job_concurrency,
    translation_pairs,
)
from hark.metrics import Metrics
from hark.settings import Settings, mask_url
from hark.store import Database, Store, utcnow

from .async_files import AsyncFiles
from .audit import AuditLog
from .auth import KeyService
from .corrections import Corrections
from .files import FileService
from .invox import InvoxService
from .invox import callback_body as invox_callback_body
from .models import ModelCatalog
from .openai import OpenAIService
from .quotas import Limits, Quotas
from .ratelimit import RateLimiter
from .realtime import RealtimeService, StreamingConfig
from .retention import Retention
from .transcriptions import TranscriptionService
from .uploads import UploadService

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a job that kills its worker this often is failed, not retried forever
WEBHOOK_POLL_SECONDS = 1.0  # how often due webhook retries are looked for
READY_TIMEOUT = 5.0  # seconds /readyz waits for its checks

# What a process is for:
#   serve  - `hark serve`: the API, and in-process workers unless HARK_QUEUE_URL is set
#   api    - `hark serve --no-worker`: the API only; jobs go to the queue (if any)
#   worker - `hark worker`: a Celery worker taking jobs from the queue
#   admin  - `hark keys`, `hark limits`, `hark migrate`: the database only
Role = Literal["serve", "api", "worker", "admin"]


class Hark:
    """Everything one Hark process needs, built from one Settings object."""

    def __init__(self, settings: Settings, role: Role = "serve") -> None:
        self.settings = settings
        self.role = role
        self._migrated = False
        self.db = Database(settings.resolved_database_url)
        # Partner callbacks (Invox) are rendered here, above the store: it only records them.
        self.store = Store(self.db, callback_body=invox_callback_body)
        self.blobs = open_blob_store(
            settings.resolved_storage_url, settings.downloads_dir, S3Options.from_settings(settings)
        )
        self.metrics = Metrics()
        self.keys = KeyService(self.store, settings.auth_cache_seconds)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.audit = AuditLog(settings.audit_log if role in ("serve", "api") else None)
        self.catalog = ModelCatalog(
            settings.public_model_id, settings.model, lambda: translation_pairs(settings)
        )
        self.quotas = Quotas(self.store, Limits.from_settings(settings))
        addresses = address_policy(settings)
        secret = settings.webhook_signing_secret
        self.webhooks = WebhookSender(
            self.store,
            WebhookPolicy(
                addresses=addresses,
                timeout=settings.webhook_timeout,
                max_attempts=settings.webhook_max_attempts,
                retry_base_seconds=settings.webhook_retry_base_seconds,
                signing_secret=secret.get_secret_value() if secret else None,
            ),
            self.metrics,
            concurrency=settings.webhook_concurrency,
        )
        self.retention = Retention(self.store, self.blobs, settings.retention_days)
        # Background loops; see start() for which process runs which.
        self._webhook_loop = Periodic(
            "hark-webhooks", WEBHOOK_POLL_SECONDS, self.webhooks.deliver_due
        )
        self.webhooks.on_attempted = self._webhook_loop.wake
        self._sweep_loop = Periodic("hark-sweep", settings.sweep_interval, self._sweep)
        self._grace = timedelta(seconds=settings.orphan_grace_seconds)
        self._data_dir_lock: int | None = None
        # The engine runs in a supervised child process, started when the workers start (or,
        # in an API-only process, with the first realtime session).
        self.engine = engine_process(settings)
        self.runner = JobRunner(
            self.store,
            self.blobs,
            self.engine.started,
            RunnerConfig.from_settings(settings),
            self.quotas.for_project,
            on_finished=self._webhook_loop.wake,
            metrics=self.metrics,
            in_flight_cap=self._in_flight_cap,
            on_fetched=lambda job_id: self.jobs.dispatch(job_id),
        )
        self.dispatcher = self._dispatcher(self.engine.wait_ready)
        # The audio_url download stage, in every process that runs jobs: downloads wait on
        # remote servers here, not in the engine's job slots.
        runs_jobs = isinstance(self.dispatcher, InProcessDispatcher) or (
            self.role == "worker" and not isinstance(self.dispatcher, NoDispatcher)
        )
        self.fetcher = (
            Threads(self.runner.fetch_next, settings.fetch_concurrency, "hark-fetch")
            if runs_jobs
            else None
        )
        # One pool for /readyz: checks that hang occupy its threads instead of each probe
        # starting (and leaving behind) threads of its own.
        self._ready_pool = ThreadPoolExecutor(3, thread_name_prefix="hark-ready")
        in_process = isinstance(self.dispatcher, InProcessDispatcher)
        self.jobs = JobSweeper(
            self.store,
            self.dispatcher,
            MAX_ATTEMPTS,
            # An in-process queue cannot lose a job while the process lives.
            None if in_process else timedelta(seconds=settings.redispatch_after),
            on_failed=self._webhook_loop.wake,
        )
        self._jobs_loop = Periodic("hark-jobs", settings.job_sweep_interval, self.jobs.sweep)
        self.realtime = RealtimeService(
            self.catalog,
            self.runner,
            self.quotas,
            settings.realtime_max_sessions,
            StreamingConfig(
                update_seconds=settings.realtime_update_seconds,
                trim_seconds=settings.realtime_trim_seconds,
                beam_size=settings.realtime_beam_size,
            ),
            settings.realtime_idle_timeout,
        )
        self.files = FileService(self.store, self.blobs, self.quotas)
        self.transcriptions = TranscriptionService(
            self.store,
            self._dispatch_new,
            self.catalog,
            self.quotas,
            addresses,
            self.files.find,
            settings.require_https,
            on_cancelled=self._webhook_loop.wake,
        )
        self.corrections = Corrections(self.store, self.transcriptions)
        self.uploads = UploadService(
            self.store,
            self.blobs,
            self.files,
            settings.upload_url_ttl_seconds,
            settings.public_base_url,
            timedelta(seconds=settings.orphan_grace_seconds),
            settings.max_outstanding_upload_urls,
        )
        self.invox = InvoxService(
            self.store,
            self.uploads,
            self.transcriptions,
            settings.invox_token_ttl_seconds,
            settings.invox_diarization,
        )
        self.openai = OpenAIService(self.store, self.files, self.transcriptions, self.catalog)
        self.async_files = AsyncFiles(self.files, self.transcriptions)  # legacy gRPC API

    def _dispatcher(self, engine: Callable[[], object]) -> Dispatcher:
        settings = self.settings
        if self.role == "admin":
            return NoDispatcher()
        if settings.queue_url:
            from hark.jobs.celery_queue import CeleryDispatcher

            return CeleryDispatcher(settings.queue_url, settings.queue_visibility_timeout)
        if self.role == "worker":
            raise ValueError("hark worker needs a queue: set HARK_QUEUE_URL=redis://...")
        if self.role == "serve" and settings.workers > 0:
            return InProcessDispatcher(self.runner.run_next, job_concurrency(settings), engine)
        return NoDispatcher()  # jobs wait in the database for a server with workers

    def _dispatch_new(self, transcription_id: str) -> None:
        if self.fetcher is not None:
            self.fetcher.wake()  # an audio_url job is downloaded first
        self.jobs.dispatch(transcription_id)

    def _in_flight_cap(self, overrides: dict | None) -> int:
        return self.quotas.defaults.overridden(overrides).max_jobs_in_flight_per_project

    def run_queued(self, _transcription_id: str) -> None:
        """One queue message (`hark worker`): take the job whose turn it is, which need not
        be the one the message names; messages only say that jobs are waiting."""
        if self.fetcher is not None:
            self.fetcher.wake()  # it may be an audio_url job still to be downloaded
        if self.runner.run_next():
            self.jobs.send_parked()  # its project's slot is free: jobs held back may start
        else:
            self.store.queue.park()  # all waiting jobs are held back by their caps

    def describe(self) -> str:
        """Where this process keeps things, for its start-up line (no secrets)."""
        settings = self.settings
        queue = mask_url(settings.queue_url) if settings.queue_url else "in-process"
        return (
            f"database {mask_url(settings.resolved_database_url)}, "
            f"storage {settings.resolved_storage_url}, queue {queue}"
        )

    def migrate(self) -> None:
        if not self._migrated:
            self.db.migrate()
            self._migrated = True

    def start(self) -> None:
        self.migrate()
        # Webhook senders and sweeps are safe to run in any number of processes (deliveries
        # are leased; sweeps are idempotent; jobs are re-queued and re-sent under row
        # locks), so every server and worker runs them.
        # Every process using the data directory says so (a lock), whatever it runs.
        alone = self._hold_data_dir()
        self.webhooks.release_abandoned(at_start=True)
        self._webhook_loop.start()
        self._sweep_loop.start()
        if isinstance(self.dispatcher, NoDispatcher):
            return  # nothing to send jobs to
        if isinstance(self.dispatcher, InProcessDispatcher):
            # Embedded mode: what is left half-done was interrupted by a previous run, unless
            # another live process shares the data: then only what is old enough goes, and
            # only the jobs of crashed processes are re-queued (see JobSweeper.recover).
            local = self.settings.resolved_storage_url.startswith("file:")
            self._sweep_blobs(utcnow() if alone and local else utcnow() - self._grace)
            _remove_orphaned_scratch(self.settings.downloads_dir.parent)
            self.dispatcher.start()
            self.jobs.recover()
        elif self.role == "worker":
            _remove_orphaned_scratch(self.settings.downloads_dir.parent)
        if self.fetcher is not None:
            self.fetcher.start()
        self._jobs_loop.start()

    def _sweep(self) -> None:
        self.retention.sweep()
        self._sweep_blobs(utcnow() - self._grace)
        self.webhooks.release_abandoned()

    def _hold_data_dir(self) -> bool:
        """Hold a shared lock on the data directory for this process's life; whether no
        other process held one (this process is alone with the data)."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.settings.data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        fcntl.flock(fd, fcntl.LOCK_SH)  # what the next process to start will see
        self._data_dir_lock = fd
        return alone

    def _sweep_blobs(self, before: datetime) -> None:
        """Remove what a crash left behind, untouched since `before`: half-written uploads,
        and audio whose database row was never written (crash between storing the blob
        and recording it)."""
        partials = self.blobs.sweep_partials(before)
        stored = list(self.blobs.stored_keys(before))
        known = self.store.storage_keys()  # read after listing: a row written since counts
        orphans = [key for key in stored if key not in known]
        for key in orphans:
            self.blobs.delete(key)
        if partials or orphans:
            log.info("removed %d interrupted uploads and %d orphaned blobs", partials, len(orphans))

    def engine_status(self) -> dict[str, object] | None:
        """For /readyz: the engine process ("ok" with its pid, model, device..., or what is
        wrong), or None where this process has not started one."""
        return self.engine.status()

    def readiness(self) -> dict[str, str]:
        """Whether the database, the storage and the queue answer: "ok" or what failed."""
        checks = {
            "database": self.db.ping,
            "storage": self.blobs.check,
            "broker": self.dispatcher.check,
        }
        results = dict.fromkeys(checks, f"error: no answer within {READY_TIMEOUT:g} s")
        futures = {self._ready_pool.submit(check): name for name, check in checks.items()}
        done, _ = wait(futures, timeout=READY_TIMEOUT)
        for future in done:
            error = future.exception()
            results[futures[future]] = (
                "ok" if error is None else f"error: {type(error).__name__}: {error}"[:500]
            )
        return {name: mask_url(result) for name, result in results.items()}

    def stop(self) -> None:
        self._jobs_loop.stop()
        if self.fetcher is not None:
            self.fetcher.stop()
        if isinstance(self.dispatcher, InProcessDispatcher):
            # Workers take no new job; then the engine stops, the jobs in hand raise
            # EngineStopped, and their workers put them back in the queue before they end.
            self.dispatcher.stop(timeout=0)
            self.engine.stop()
        self.dispatcher.stop()
        self.engine.stop()
        self._webhook_loop.stop()
        self.webhooks.close()
        self._sweep_loop.stop()
        self._ready_pool.shutdown(wait=False)
        self.store.queue.close()
        if self._data_dir_lock is not None:
            os.close(self._data_dir_lock)
        self.db.dispose()


def _remove_orphaned_scratch(root: Path) -> None:
    """Scratch directories of processes that are gone (interrupted downloads and streams;
    their jobs fetch again). Those of live processes sharing the data directory stay."""
    for directory in root.glob("*") if root.is_dir() else ():
        if not directory.name.isdigit() or not _alive(int(directory.name)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Use cases, wired to the storage, blob and job ports chosen by the settings."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from hark.blobs import open_blob_store
from hark.jobs import (
    Dispatcher,
    InProcessDispatcher,
    JobRunner,
    NoDispatcher,
    Periodic,
    RunnerConfig,
    WebhookPolicy,
    WebhookSender,
    address_policy,
    engine_loader,
)
from hark.settings import Settings
from hark.store import Database, Store

from .auth import DEFAULT_PROJECT, KeyService, NewKey, PermissionDenied, mask
from .errors import (
    Conflict,
    FieldError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
)
from .files import FileService
from .models import ModelCatalog
from .quotas import Limits, Quotas
from .realtime import RealtimeConfig, RealtimeService, RealtimeSession
from .requests import CreateTemporaryKey, CreateTranscription
from .retention import Retention
from .transcriptions import TranscriptionService

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a job that kills its worker this often is failed, not retried forever
WEBHOOK_POLL_SECONDS = 1.0  # how often due webhook retries are looked for


class Hark:
    """Everything one Hark process needs, built from one Settings object."""

    def __init__(self, settings: Settings, run_worker: bool = True) -> None:
        self.settings = settings
        self._migrated = False
        self.db = Database(settings.resolved_database_url)
        self.store = Store(self.db)
        self.blobs = open_blob_store(settings.resolved_storage_url)
        self.keys = KeyService(self.store, settings.auth_cache_seconds)
        self.catalog = ModelCatalog(settings.public_model_id, settings.model)
        self.quotas = Quotas(self.store, Limits.from_settings(settings))
        secret = settings.webhook_signing_secret
        self.webhooks = WebhookSender(
            self.store,
            WebhookPolicy(
                addresses=address_policy(settings),
                timeout=settings.webhook_timeout,
                max_attempts=settings.webhook_max_attempts,
                retry_base_seconds=settings.webhook_retry_base_seconds,
                signing_secret=secret.get_secret_value() if secret else None,
            ),
        )
        self.retention = Retention(self.store, self.blobs, settings.retention_days)
        # Background work, run only by processes that run workers.
        self._webhook_loop = Periodic(
            "hark-webhooks", WEBHOOK_POLL_SECONDS, self.webhooks.deliver_due
        )
        self._sweep_loop = Periodic("hark-sweep", settings.sweep_interval, self.retention.sweep)
        engine = engine_loader(settings)
        self.runner = JobRunner(
            self.store,
            self.blobs,
            engine,
            RunnerConfig.from_settings(settings),
            on_finished=self._webhook_loop.wake,
        )
        self.dispatcher: Dispatcher = (
            InProcessDispatcher(self.runner.run, settings.workers, engine)
            if run_worker and settings.workers > 0
            else NoDispatcher()
        )
        self.realtime = RealtimeService(
            self.catalog,
            self.runner,
            self.quotas,
            settings.downloads_dir,
            settings.realtime_max_sessions,
        )
        self.files = FileService(self.store, self.blobs, self.quotas)
        self.transcriptions = TranscriptionService(
            self.store, self.dispatcher, self.catalog, self.quotas, address_policy(settings)
        )

    def migrate(self) -> None:
        if not self._migrated:
            self.db.migrate()
            self._migrated = True

    def start(self) -> None:
        self.migrate()
        # Webhook senders and sweeps are safe to run in any number of processes (deliveries
        # are leased; sweeps are idempotent), so every server runs them.
        self._webhook_loop.start()
        self._sweep_loop.start()
        if isinstance(self.dispatcher, NoDispatcher):
            return  # uploads and jobs in flight here may belong to live processes elsewhere
        self._sweep_blobs()
        _remove_orphaned_scratch(self.settings.downloads_dir.parent)
        self.dispatcher.start()
        # Embedded mode: this process owns every job, so `processing` ones were interrupted.
        requeued, failed = self.store.requeue_processing(MAX_ATTEMPTS)
        if requeued:
            log.warning("re-queued %d jobs interrupted by a restart", requeued)
        if failed:
            log.error("gave up on %d jobs that crashed the worker %d times", failed, MAX_ATTEMPTS)
            self._webhook_loop.wake()
        for transcription_id in self.store.queued_ids():
            self.dispatcher.dispatch(transcription_id)

    def _sweep_blobs(self) -> None:
        """Remove what a crash left behind: half-written uploads, and audio whose database
        row was never written (crash between storing the blob and recording it)."""
        partials = self.blobs.sweep_partials()
        known = self.store.storage_keys()
        orphans = [key for key in self.blobs.stored_keys() if key not in known]
        for key in orphans:
            self.blobs.delete(key)
        if partials or orphans:
            log.info("removed %d interrupted uploads and %d orphaned blobs", partials, len(orphans))

    def stop(self) -> None:
        self.dispatcher.stop()
        self._webhook_loop.stop()
        self.webhooks.close()
        self._sweep_loop.stop()
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


__all__ = [
    "DEFAULT_PROJECT",
    "Conflict",
    "CreateTemporaryKey",
    "CreateTranscription",
    "FieldError",
    "Hark",
    "InvalidRequest",
    "Limits",
    "NewKey",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RealtimeConfig",
    "RealtimeSession",
    "ServiceError",
    "TooManyRequests",
    "Unauthenticated",
    "mask",
]

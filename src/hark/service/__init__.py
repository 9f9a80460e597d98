"""Use cases, wired to the storage, blob and job ports chosen by the settings."""

from __future__ import annotations

import logging

from hark.blobs import open_blob_store
from hark.engine import EngineConfig, get_engine
from hark.jobs import Dispatcher, InProcessDispatcher, JobRunner, NoDispatcher
from hark.settings import Settings
from hark.store import Database, Store

from .auth import DEFAULT_PROJECT, KeyService, NewKey, mask
from .errors import (
    Conflict,
    FieldError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unauthenticated,
)
from .files import FileService
from .models import ModelCatalog
from .requests import CreateTranscription
from .transcriptions import TranscriptionService

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


class Hark:
    """Everything one Hark process needs, built from one Settings object."""

    def __init__(self, settings: Settings, run_worker: bool = True) -> None:
        self.settings = settings
        self._migrated = False
        self.db = Database(settings.resolved_database_url)
        self.store = Store(self.db)
        self.blobs = open_blob_store(settings.resolved_storage_url)
        self.keys = KeyService(self.store)
        self.catalog = ModelCatalog(settings.public_model_id, settings.model)
        config = engine_config(settings)
        self.runner = JobRunner(
            self.store, self.blobs, lambda: get_engine(config), settings.progress_interval
        )
        self.dispatcher: Dispatcher = (
            InProcessDispatcher(self.runner.run, settings.workers, lambda: get_engine(config))
            if run_worker and settings.workers > 0
            else NoDispatcher()
        )
        self.files = FileService(self.store, self.blobs, settings.max_file_size)
        self.transcriptions = TranscriptionService(self.store, self.dispatcher, self.catalog)

    def migrate(self) -> None:
        if not self._migrated:
            self.db.migrate()
            self._migrated = True

    def start(self) -> None:
        self.migrate()
        swept = self.blobs.sweep_partials()
        if swept:
            log.info("removed %d interrupted uploads", swept)
        self.dispatcher.start()
        requeued = self.store.requeue_processing()
        if requeued:
            log.warning("re-queued %d jobs interrupted by a restart", requeued)
        for transcription_id in self.store.queued_ids():
            self.dispatcher.dispatch(transcription_id)

    def stop(self) -> None:
        self.dispatcher.stop()
        self.db.dispose()


__all__ = [
    "DEFAULT_PROJECT",
    "Conflict",
    "CreateTranscription",
    "FieldError",
    "Hark",
    "InvalidRequest",
    "NewKey",
    "NotFound",
    "PayloadTooLarge",
    "ServiceError",
    "Unauthenticated",
    "mask",
]

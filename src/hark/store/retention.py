"""Retention: expiring old files, transcriptions and records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    delete,
    select,
)

from .base import (
    EXPIRE_BATCH,
    StoreBase,
)
from .models import (
    File,
    IdempotencyRecord,
    Transcription,
    TranscriptRow,
    WebhookDelivery,
)


class RetentionStore(StoreBase):
    # -- retention -----------------------------------------------------------------------

    def expire_transcriptions(self, before: datetime) -> int:
        """Delete finished or waiting jobs created before `before`, with their transcripts,
        a batch per transaction (a job being processed is left for the next sweep)."""
        deleted = 0
        while True:
            with self.db.write() as s:
                ids = list(
                    s.scalars(
                        select(Transcription.id)
                        .where(
                            Transcription.created_at < before,
                            Transcription.status != "processing",
                        )
                        .limit(EXPIRE_BATCH)
                        .with_for_update(skip_locked=True)  # not one a worker is claiming
                    )
                )
                s.execute(delete(TranscriptRow).where(TranscriptRow.transcription_id.in_(ids)))
                s.execute(delete(WebhookDelivery).where(WebhookDelivery.transcription_id.in_(ids)))
                s.execute(delete(Transcription).where(Transcription.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < EXPIRE_BATCH:
                return deleted

    def expire_files(self, before: datetime, batch: Callable[[list[str]], object]) -> int:
        """Delete file rows created before `before`, a batch per transaction, handing each
        batch's storage keys to `batch` once its rows are gone. A file a queued or processing
        job will still read is kept (until a sweep after that job is done)."""
        live_job = (
            select(Transcription.id)
            .where(
                Transcription.file_id == File.id,
                Transcription.status.in_(("queued", "processing")),
            )
            .exists()
        )
        deleted = 0
        while True:
            with self.db.write() as s:
                rows = s.execute(
                    select(File.id, File.storage_key)
                    .where(File.created_at < before, ~live_job)
                    .limit(EXPIRE_BATCH)
                ).all()
                s.execute(delete(File).where(File.id.in_([file_id for file_id, _ in rows])))
            batch([key for _, key in rows])
            deleted += len(rows)
            if len(rows) < EXPIRE_BATCH:
                return deleted

    def purge_records(self, idempotency_before: datetime, deliveries_before: datetime) -> None:
        with self.db.write() as s:
            s.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.created_at < idempotency_before)
            )
            s.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status != "pending",
                    WebhookDelivery.created_at < deliveries_before,
                )
            )

"""The periodic sweep: expired files, transcriptions, temporary keys and records go."""

from __future__ import annotations

import logging
from datetime import timedelta

from hark.blobs import BlobStore
from hark.store import Store, utcnow

from .idempotency import WINDOW

log = logging.getLogger(__name__)

# Finished webhook deliveries are kept this long when retention itself is off, for diagnosis.
DELIVERY_HISTORY = timedelta(days=30)
# An upload URL's row outlives its expiry this long (a PUT begun just before it expired
# may still be streaming into S3).
UNUSED_UPLOAD_GRACE = timedelta(days=1)


class Retention:
    def __init__(self, store: Store, blobs: BlobStore, retention_days: float) -> None:
        self.store = store
        self.blobs = blobs
        self.age = timedelta(days=retention_days) if retention_days > 0 else None

    def sweep(self) -> None:
        now = utcnow()
        if self.age is not None:
            before = now - self.age
            # Transcriptions first: a file is never deleted by its transcription's expiry,
            # only by its own (CONTRACTS §1.7).
            jobs = self.store.expire_transcriptions(before)
            files = self.store.expire_files(before, self._delete_blobs)
            if jobs or files:
                log.info("retention: deleted %d transcriptions and %d files", jobs, files)
        self.store.purge_expired_keys(now)
        # Upload URLs: unused ones a day after they expired (whatever S3 received for them
        # since is removed too), the rest with the files they made.
        before = now - self.age if self.age is not None else None
        self._delete_blobs(self.store.expire_uploads(now - UNUSED_UPLOAD_GRACE, before))
        self.store.purge_records(
            idempotency_before=now - WINDOW, deliveries_before=now - (self.age or DELIVERY_HISTORY)
        )

    def _delete_blobs(self, keys: list[str]) -> None:
        for key in keys:
            self.blobs.delete(key)

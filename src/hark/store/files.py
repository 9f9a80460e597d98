"""Uploaded files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)

from .base import (
    Cursor,
    FileQuota,
    Quota,
    Row,
    Usage,
)
from .idempotency import IdempotencyStore
from .models import (
    File,
    IdempotencyRecord,
    PresignedUpload,
    Transcription,
)


class FilesStore(IdempotencyStore):
    # -- files ---------------------------------------------------------------------------

    def _add_within(
        self, row: Row, quota: Quota, claim: IdempotencyRecord | None, since: datetime | None
    ) -> Row | Usage | IdempotencyRecord:
        """Insert `row`, unless it would take its project over `quota`: then nothing is
        written and the current usage comes back instead. With `claim`, the Idempotency-Key
        record naming `row` is written in the same transaction (a crash cannot leave the
        row without it, for a retry to create a second one); if a live record (newer than
        `since`) holds that key already, nothing is written and it comes back."""
        with self.db.write() as s:
            self._lock_project(s, row.project_id)  # also serializes claims of one key
            if claim is not None:
                assert since is not None
                held = self._live_idempotency(s, claim, since)
                if held is not None:
                    return held
            usage = self.usage(row.project_id, s)
            if not quota.admits(usage, row):  # type: ignore[arg-type]
                return usage
            s.add(row)
            if claim is not None:
                s.flush()  # gives the row its id
                claim.resource_id = row.id  # type: ignore[attr-defined]
                s.add(claim)
            return row

    def add_file(
        self,
        file: File,
        quota: FileQuota,
        claim: IdempotencyRecord | None = None,
        since: datetime | None = None,
    ) -> File | Usage | IdempotencyRecord:
        return self._add_within(file, quota, claim, since)

    def get_file(self, project_id: str, file_id: str) -> File | None:
        return self._get(File, project_id, file_id)

    def list_files(self, project_id: str, limit: int, after: Cursor | None) -> list[File]:
        return self._page(File, project_id, limit, after)

    def count_files(self, project_id: str) -> int:
        return self._count(File, project_id)

    def delete_file(self, project_id: str, file_id: str) -> File | None:
        with self.db.write() as s:
            file = s.scalar(select(File).where(File.id == file_id, File.project_id == project_id))
            if file is not None:
                s.delete(file)
            return file

    def storage_keys(self) -> set[str]:
        """Every blob key in use: stored files', unfinished jobs' fetched audio, and those S3
        may still receive uploads at."""
        with self.db.read() as s:
            keys = set(s.scalars(select(File.storage_key)))
            keys |= set(
                s.scalars(
                    select(Transcription.audio_key).where(
                        Transcription.audio_key.is_not(None),
                        Transcription.status.in_(("queued", "processing")),
                    )
                )
            )
            return keys | set(
                s.scalars(
                    select(PresignedUpload.storage_key).where(
                        PresignedUpload.storage_key.is_not(None)
                    )
                )
            )

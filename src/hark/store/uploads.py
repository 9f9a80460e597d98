"""Pre-signed upload slots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from .base import (
    EXPIRE_BATCH,
    FileQuota,
    StoreBase,
    TranscriptionQuota,
    Usage,
)
from .models import (
    File,
    PresignedUpload,
    Transcription,
    utcnow,
)


class UploadsStore(StoreBase):
    # -- pre-signed uploads ----------------------------------------------------------------

    def add_upload(
        self, upload: PresignedUpload, max_outstanding: int | None = None
    ) -> PresignedUpload | None:
        """Store an upload URL; None (and nothing stored) when its project already has
        `max_outstanding` unexpired URLs not used yet."""
        with self.db.write() as s:
            if max_outstanding is not None:
                self._lock_project(s, upload.project_id)
                outstanding = s.scalar(
                    select(func.count()).where(
                        PresignedUpload.project_id == upload.project_id,
                        PresignedUpload.state.in_(("pending", "receiving")),
                        PresignedUpload.expires_at > utcnow(),
                    )
                )
                if outstanding >= max_outstanding:
                    return None
            s.add(upload)
            return upload

    def get_upload(self, project_id: str, upload_id: str, kind: str) -> PresignedUpload | None:
        with self.db.read() as s:
            return s.scalar(
                select(PresignedUpload).where(
                    PresignedUpload.id == upload_id,
                    PresignedUpload.project_id == project_id,
                    PresignedUpload.kind == kind,
                )
            )

    def claim_upload(
        self,
        upload_id: str,
        token_hash: str,
        receiver: str,
        receiver_gone: Callable[[str | None], bool],
        stale_before: datetime,
    ) -> PresignedUpload | str:
        """pending -> receiving for the PUT that holds the upload's token, unless the URL
        expired: the upload, or why not ("invalid", "used", "expired"). Of two racing PUTs
        one wins; the other finds it in use. An upload left receiving by a process that is
        gone (`receiver_gone`), or since before `stale_before`, may be claimed again.
        A wrong token costs a read only: floods of them never take the write lock."""
        with self.db.read() as s:
            known = s.scalar(
                select(PresignedUpload.id).where(
                    PresignedUpload.id == upload_id, PresignedUpload.token_hash == token_hash
                )
            )
        if known is None:
            return "invalid"
        with self.db.write() as s:
            upload = s.scalar(
                select(PresignedUpload)
                .where(PresignedUpload.id == upload_id, PresignedUpload.token_hash == token_hash)
                .with_for_update()
            )
            if upload is None:
                return "invalid"
            abandoned = upload.state == "receiving" and (
                receiver_gone(upload.receiver)
                or upload.receiving_since is None
                or upload.receiving_since < stale_before
            )
            if upload.state != "pending" and not abandoned:
                return "used"
            if upload.expires_at <= utcnow():
                return "expired"
            upload.state = "receiving"
            upload.receiver = receiver
            upload.receiving_since = utcnow()
            return upload

    def release_upload(self, upload_id: str) -> None:
        """A PUT failed (too large, client gone, refused): its URL may be used again."""
        with self.db.write() as s:
            s.execute(
                update(PresignedUpload)
                .where(PresignedUpload.id == upload_id, PresignedUpload.state == "receiving")
                .values(state="pending")
            )

    def complete_upload(
        self,
        upload_id: str,
        file: File,
        file_quota: FileQuota,
        job: Transcription | None = None,
        job_quota: TranscriptionQuota | None = None,
    ) -> File | Usage | None:
        """Record what an upload URL received: its file (and the job it starts), all or
        nothing, within the project's quotas (else nothing is written and the usage comes
        back). None when the upload was taken in already or is gone."""
        with self.db.write() as s:
            self._lock_project(s, file.project_id)
            upload = s.get(PresignedUpload, upload_id, with_for_update=True)
            if upload is None or upload.state in ("done", "refused"):
                return None
            usage = self.usage(file.project_id, s)
            if not file_quota.admits(usage, file) or (
                job is not None and job_quota is not None and not job_quota.admits(usage, job)
            ):
                return usage
            s.add(file)
            if job is not None:
                s.add(job)
                s.flush()
                upload.transcription_id = job.id
            upload.state = "done"
            return file

    def refuse_upload(self, upload_id: str, message: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(PresignedUpload)
                .where(PresignedUpload.id == upload_id)
                .values(state="refused", error_message=message)
            )

    def direct_uploads(self, project_id: str, file_id: str | None = None) -> list[PresignedUpload]:
        """Uploads the storage receives itself that Hark has not taken in yet (of one file)."""
        query = select(PresignedUpload).where(
            PresignedUpload.project_id == project_id,
            PresignedUpload.state == "pending",
            PresignedUpload.storage_key.is_not(None),
        )
        if file_id is not None:
            query = query.where(PresignedUpload.file_id == file_id)
        with self.db.read() as s:
            return list(s.scalars(query.order_by(PresignedUpload.created_at)))

    def expire_uploads(
        self, unfinished_before: datetime, created_before: datetime | None
    ) -> list[str]:
        """Forget upload URLs never used by `unfinished_before` (past their expiry), and all
        those created before `created_before` (retention); and the keys of used URLs that
        expired by then. Returns the storage keys S3 could still hold an object at, for the
        caller to delete."""
        expired = and_(
            PresignedUpload.state != "done", PresignedUpload.expires_at < unfinished_before
        )
        if created_before is not None:
            expired = or_(expired, PresignedUpload.created_at < created_before)
        keys = self._forget_used_upload_keys(unfinished_before)
        while True:
            with self.db.write() as s:
                rows = s.execute(
                    select(PresignedUpload.id, PresignedUpload.storage_key)
                    .where(expired)
                    .limit(EXPIRE_BATCH)
                ).all()
                ids = [upload_id for upload_id, _ in rows]
                s.execute(delete(PresignedUpload).where(PresignedUpload.id.in_(ids)))
            keys += [key for _, key in rows if key]
            if len(rows) < EXPIRE_BATCH:
                return keys

    def _forget_used_upload_keys(self, expired_before: datetime) -> list[str]:
        """The keys of S3 URLs that were used and have expired since `expired_before`:
        take-in moved their object away, but another PUT before the URL expired may have
        left a new one there, which no file owns."""
        used = and_(
            PresignedUpload.state.in_(("done", "refused")),
            PresignedUpload.storage_key.is_not(None),
            PresignedUpload.expires_at < expired_before,
        )
        with self.db.write() as s:
            keys = list(s.scalars(select(PresignedUpload.storage_key).where(used)))
            s.execute(update(PresignedUpload).where(used).values(storage_key=None))
        return [key for key in keys if key]

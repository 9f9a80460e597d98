"""Every query Hark runs, each in its own short transaction. Rows come back detached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select, update

from .db import Database
from .models import ApiKey, File, Project, Transcription, TranscriptRow, utcnow

Row = TypeVar("Row", File, Transcription)
Cursor = tuple[datetime, str]  # (created_at, id) of the last item of the previous page

PENDING = ("queued", "processing")


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- projects and keys -------------------------------------------------------------

    def ensure_project(self, name: str) -> Project:
        with self.db.write() as s:
            project = s.scalar(select(Project).where(Project.name == name))
            if project is None:
                project = Project(name=name)
                s.add(project)
            return project

    def add_api_key(
        self, project_id: str, key_hash: str, key_prefix: str, name: str | None
    ) -> ApiKey:
        with self.db.write() as s:
            key = ApiKey(project_id=project_id, key_hash=key_hash, key_prefix=key_prefix, name=name)
            s.add(key)
            return key

    def has_api_key(self, key_hash: str) -> bool:
        with self.db.read() as s:
            return s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)) is not None

    def project_for_key(self, key_hash: str) -> str | None:
        with self.db.read() as s:
            return s.scalar(
                select(ApiKey.project_id).where(
                    ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
                )
            )

    def list_api_keys(self) -> list[tuple[ApiKey, str]]:
        with self.db.read() as s:
            rows = s.execute(
                select(ApiKey, Project.name)
                .join(Project, Project.id == ApiKey.project_id)
                .order_by(ApiKey.created_at)
            )
            return [(key, project) for key, project in rows]

    def count_active_api_keys(self) -> int:
        with self.db.read() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
                )
                or 0
            )

    def revoke_api_key(self, key_id_or_prefix: str) -> int:
        """Revoke the one active key with this id or prefix; returns how many matched
        (nothing is revoked unless exactly one did)."""
        match = and_(
            or_(ApiKey.id == key_id_or_prefix, ApiKey.key_prefix == key_id_or_prefix),
            ApiKey.revoked_at.is_(None),
        )
        with self.db.write() as s:
            matches = s.scalar(select(func.count()).select_from(ApiKey).where(match)) or 0
            if matches == 1:
                s.execute(update(ApiKey).where(match).values(revoked_at=utcnow()))
            return matches

    # -- shared by files and transcriptions ----------------------------------------------

    def _get(self, model: type[Row], project_id: str, row_id: str) -> Row | None:
        with self.db.read() as s:
            return s.scalar(select(model).where(model.id == row_id, model.project_id == project_id))

    def _page(
        self, model: type[Row], project_id: str, limit: int, after: Cursor | None
    ) -> list[Row]:
        """Newest first; keyset pagination, so deleting seen items never shifts a page."""
        query = select(model).where(model.project_id == project_id)
        if after is not None:
            created_at, last_id = after
            query = query.where(
                or_(
                    model.created_at < created_at,
                    and_(model.created_at == created_at, model.id < last_id),
                )
            )
        query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
        with self.db.read() as s:
            return list(s.scalars(query))

    def _count(self, model: type[Row], project_id: str) -> int:
        with self.db.read() as s:
            query = select(func.count()).select_from(model).where(model.project_id == project_id)
            return s.scalar(query) or 0

    # -- files ---------------------------------------------------------------------------

    def add_file(self, file: File) -> File:
        with self.db.write() as s:
            s.add(file)
            return file

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
        with self.db.read() as s:
            return set(s.scalars(select(File.storage_key)))

    # -- transcriptions ------------------------------------------------------------------

    def add_transcription(self, transcription: Transcription) -> Transcription:
        with self.db.write() as s:
            s.add(transcription)
            return transcription

    def get_transcription(self, project_id: str, transcription_id: str) -> Transcription | None:
        return self._get(Transcription, project_id, transcription_id)

    def list_transcriptions(
        self, project_id: str, limit: int, after: Cursor | None
    ) -> list[Transcription]:
        return self._page(Transcription, project_id, limit, after)

    def count_transcriptions(self, project_id: str) -> int:
        return self._count(Transcription, project_id)

    def delete_transcription(self, project_id: str, transcription_id: str) -> str:
        """Return "deleted", "not_found" or the blocking status ("processing")."""
        with self.db.write() as s:
            status = s.scalar(
                select(Transcription.status).where(
                    Transcription.id == transcription_id, Transcription.project_id == project_id
                )
            )
            if status is None:
                return "not_found"
            if status == "processing":
                return status
            s.execute(
                delete(TranscriptRow).where(TranscriptRow.transcription_id == transcription_id)
            )
            s.execute(delete(Transcription).where(Transcription.id == transcription_id))
            return "deleted"

    def get_transcript(self, transcription_id: str) -> TranscriptRow | None:
        with self.db.read() as s:
            return s.get(TranscriptRow, transcription_id)

    # -- job state machine ---------------------------------------------------------------

    def claim(self, transcription_id: str) -> Transcription | None:
        """queued -> processing, atomically: of any number of racing workers, one wins."""
        with self.db.write() as s:
            won = s.execute(
                update(Transcription)
                .where(Transcription.id == transcription_id, Transcription.status == "queued")
                .values(
                    status="processing",
                    started_at=utcnow(),
                    progress=0.0,
                    attempts=Transcription.attempts + 1,
                )
            ).rowcount
            return s.get(Transcription, transcription_id) if won else None

    def update_processing(self, transcription_id: str, **values: Any) -> None:
        """Record progress or duration; a job no longer processing is left alone."""
        with self.db.write() as s:
            s.execute(
                update(Transcription)
                .where(Transcription.id == transcription_id, Transcription.status == "processing")
                .values(**values)
            )

    def complete(self, transcription_id: str, text: str, tokens: list[dict]) -> bool:
        with self.db.write() as s:
            done = s.execute(
                update(Transcription)
                .where(Transcription.id == transcription_id, Transcription.status == "processing")
                .values(status="completed", progress=1.0, finished_at=utcnow())
            ).rowcount
            if done:
                s.merge(TranscriptRow(transcription_id=transcription_id, text=text, tokens=tokens))
            return bool(done)

    def fail(self, transcription_id: str, error_type: str, error_message: str) -> bool:
        with self.db.write() as s:
            return bool(
                s.execute(
                    update(Transcription)
                    .where(Transcription.id == transcription_id, Transcription.status.in_(PENDING))
                    .values(
                        status="error",
                        error_type=error_type,
                        error_message=error_message,
                        finished_at=utcnow(),
                    )
                ).rowcount
            )

    def requeue_processing(self, max_attempts: int) -> tuple[int, int]:
        """After a crash, jobs left `processing` by a dead worker go back to the queue, unless
        they already took the worker down `max_attempts` times. Returns (requeued, failed)."""
        abandoned = Transcription.status == "processing"
        with self.db.write() as s:
            failed = s.execute(
                update(Transcription)
                .where(abandoned, Transcription.attempts >= max_attempts)
                .values(
                    status="error",
                    error_type="worker_crashed",
                    error_message=f"Processing this audio stopped the worker {max_attempts} "
                    "times; giving up.",
                    finished_at=utcnow(),
                )
            ).rowcount
            requeued = s.execute(
                update(Transcription).where(abandoned).values(status="queued", progress=0.0)
            ).rowcount
            return requeued, failed

    def queued_ids(self) -> Sequence[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(Transcription.id)
                    .where(Transcription.status == "queued")
                    .order_by(Transcription.created_at)
                )
            )

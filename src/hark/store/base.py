"""The shared base of every store module: sessions, paging, project locking, usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Integer,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from .db import Database
from .models import (
    File,
    Project,
    Transcription,
)
from .queue import JobQueue

Row = TypeVar("Row", File, Transcription)
Cursor = tuple[datetime, str]  # (created_at, id) of the last item of the previous page

PENDING = ("queued", "processing")
STATUSES = ("queued", "processing", "completed", "error")
EXPIRE_BATCH = 500  # rows per retention transaction, so other writers never wait long
DISPATCH_BATCH = 1000  # jobs handed to the dispatcher per sweep


class AlreadyExists(Exception):
    """A unique row (an API key's hash) is already stored."""


@dataclass(frozen=True)
class Usage:
    """What a project holds right now, for quota checks and their error messages."""

    files: int = 0
    file_bytes: int = 0
    transcriptions: int = 0
    pending: int = 0


@dataclass(frozen=True)
class FileQuota:
    max_files: int
    max_bytes: int

    def admits(self, usage: Usage, file: File) -> bool:
        return usage.files < self.max_files and usage.file_bytes + file.size <= self.max_bytes


@dataclass(frozen=True)
class TranscriptionQuota:
    max_transcriptions: int
    max_pending: int

    def admits(self, usage: Usage, _job: Transcription) -> bool:
        return usage.transcriptions < self.max_transcriptions and usage.pending < self.max_pending


Quota = FileQuota | TranscriptionQuota


class StoreBase:
    def __init__(self, db: Database, callback_body: Callable[[Any], str] | None = None) -> None:
        self.db = db
        # Renders a partner's callback body (see webhooks.PartnerCallback); None: no partner
        # surface runs in this process.
        self.callback_body = callback_body
        self.queue = JobQueue(db)  # the fair claim and the status poll's reads

    # -- shared by files and transcriptions ----------------------------------------------

    def _get(self, model: type[Row], project_id: str, row_id: str) -> Row | None:
        with self.db.read() as s:
            return s.scalar(select(model).where(model.id == row_id, model.project_id == project_id))

    def _page(
        self,
        model: type[Row],
        project_id: str,
        limit: int,
        after: Cursor | None,
        *where: Any,
    ) -> list[Row]:
        """Newest first; keyset pagination, so deleting seen items never shifts a page."""
        query = select(model).where(model.project_id == project_id, *where)
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

    @staticmethod
    def _lock_project(s: Session, project_id: str) -> None:
        # Quota checks and the insert they guard must not interleave with another request
        # of the same project (SQLite serializes writers anyway; PostgreSQL needs the lock).
        s.execute(select(Project.id).where(Project.id == project_id).with_for_update())

    def usage(self, project_id: str, s: Session | None = None) -> Usage:
        if s is None:
            with self.db.read() as session:
                return self.usage(project_id, session)
        files, file_bytes = s.execute(
            select(func.count(), func.coalesce(func.sum(File.size), 0)).where(
                File.project_id == project_id
            )
        ).one()
        transcriptions, pending = s.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Transcription.status.in_(PENDING).cast(Integer)), 0),
            ).where(Transcription.project_id == project_id)
        ).one()
        return Usage(files, int(file_bytes), transcriptions, int(pending))

"""The job queue's reads and its fair claim: whose job runs next, where a queued job stands,
how fast jobs have been going. Kept apart from repository.py: these run on hot paths."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from .db import Database
from .models import Project, Transcription, utcnow

T = Transcription.__table__
RECENT_JOBS = 20  # completed jobs the throughput estimate is taken over

# Every column the status response shows (the lease columns and where fetched audio is
# stored are the worker's business).
_HIDDEN = ("lease_owner", "lease_expires_at", "audio_key")
_STATUS = select(*(c for c in T.c if c.name not in _HIDDEN)).where(
    T.c.id == bindparam("id"), T.c.project_id == bindparam("project_id")
)

# Built once: building a statement costs more than running it.
_PROCESSING = select(func.count()).where(T.c.status == "processing")
_QUEUED_PER_PROJECT = (
    select(T.c.project_id, func.count(), func.min(T.c.created_at), Project.last_claimed_at)
    .join(Project, Project.id == T.c.project_id)
    .where(T.c.status == "queued")
    .group_by(T.c.project_id, Project.last_claimed_at)
)
_RUNNING = select(func.count()).where(
    T.c.status == "processing", T.c.project_id == bindparam("project_id")
)
_AHEAD = select(func.count()).where(  # a project's queued jobs older than one of them
    T.c.status == "queued",
    T.c.project_id == bindparam("project_id"),
    or_(
        T.c.created_at < bindparam("created_at"),
        and_(T.c.created_at == bindparam("created_at"), T.c.id < bindparam("id")),
    ),
)


# An audio_url job is claimed for the engine only once the download stage stored its audio:
# a slow remote server holds no engine slot and counts against no in-flight cap.
_AUDIO_READY = or_(T.c.audio_url.is_(None), T.c.audio_key.is_not(None))


@dataclass(frozen=True)
class QueueSnapshot:
    """Queued jobs per project at one moment, for queue positions."""

    position: int | None  # 1: the next job a free worker takes
    processing: int  # jobs being worked on now, all projects


@dataclass(frozen=True)
class Throughput:
    """How fast recent jobs went: audio seconds per processing second of one worker, and the
    mean processing time of a job."""

    audio_per_second: float
    job_seconds: float


class _RawStatusRead:
    """The status SELECT on a DB-API connection of its own: a single statement in
    autocommit mode is its own read transaction (it sees every earlier commit), and
    skipping SQLAlchemy's execution machinery makes it several times cheaper. Values go
    through the columns' own SQLAlchemy result processors, as through the ORM."""

    def __init__(self, db: Database) -> None:
        dialect = db.engine.dialect
        compiled = _STATUS.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = compiled.positiontup or []
        columns = list(_STATUS.selected_columns)
        self.names = [c.name for c in columns]
        self.processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]
        self.connection = db.engine.raw_connection()  # autocommit: see db._tune_sqlite

    def __call__(self, project_id: str, transcription_id: str) -> SimpleNamespace | None:
        values = {"id": transcription_id, "project_id": project_id}
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql, [values[name] for name in self.params])
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return SimpleNamespace(
            **{
                name: value if process is None or value is None else process(value)
                for name, process, value in zip(self.names, self.processors, row, strict=True)
            }
        )

    def close(self) -> None:
        self.connection.close()


class JobQueue:
    def __init__(self, db: Database) -> None:
        self.db = db
        # SQLite: status polls read on the event loop, through a connection of their own (a
        # read in WAL mode never waits for a writer).
        self.inline = db.url.startswith("sqlite")
        self._raw: _RawStatusRead | None = None
        self._lock = threading.Lock()

    def status(self, project_id: str, transcription_id: str) -> tuple[Any | None, QueueSnapshot]:
        """A job's row, fresh (None if this project has no such job), with its queue
        position when queued: one primary-key read for a finished job, a few index lookups
        more for a waiting one."""
        if self.inline:
            with self._lock:
                if self._raw is None:
                    self._raw = _RawStatusRead(self.db)
                row = self._raw(project_id, transcription_id)
        else:
            with self.db.engine.connect() as c:
                row = c.execute(_STATUS, {"id": transcription_id, "project_id": project_id}).first()
        if row is None or row.status not in ("queued", "processing"):
            return row, QueueSnapshot(None, 0)
        with self.db.engine.connect() as c:
            return row, self._snapshot(c, row)

    def _snapshot(self, c: Connection, job: Any) -> QueueSnapshot:
        processing = c.scalar(_PROCESSING) or 0
        if job.status != "queued":
            return QueueSnapshot(None, processing)
        per_project = c.execute(_QUEUED_PER_PROJECT).all()
        ahead = c.scalar(
            _AHEAD, {"project_id": job.project_id, "created_at": job.created_at, "id": job.id}
        )
        return QueueSnapshot(fair_position(job.project_id, ahead or 0, per_project), processing)

    def throughput(self) -> Throughput | None:
        """Over the last completed jobs whose duration is known; None before the first."""
        with self.db.engine.connect() as c:
            rows = c.execute(
                select(T.c.audio_duration_ms, T.c.started_at, T.c.finished_at)
                .where(
                    T.c.status == "completed",
                    T.c.audio_duration_ms.is_not(None),
                    T.c.started_at.is_not(None),
                    T.c.finished_at.is_not(None),
                )
                .order_by(T.c.finished_at.desc())
                .limit(RECENT_JOBS)
            ).all()
        busy = sum(max((end - start).total_seconds(), 0.001) for _, start, end in rows)
        if not rows:
            return None
        audio = sum(ms for ms, _, _ in rows) / 1000
        return Throughput(audio_per_second=audio / busy, job_seconds=busy / len(rows))

    # -- the fair claim ------------------------------------------------------------------

    def claim_next(
        self, owner: str, lease: timedelta, cap: Callable[[dict | None], int]
    ) -> Transcription | None:
        """queued -> processing for the job whose turn it is: projects take turns (the one
        served longest ago first), each project's oldest job first; projects with `cap(their
        limits)` jobs in flight already are skipped. None when no job may start now."""
        now = utcnow()
        with self.db.write() as s:
            in_flight = dict(
                s.execute(
                    select(T.c.project_id, func.count())
                    .where(T.c.status == "processing")
                    .group_by(T.c.project_id)
                ).all()
            )
            limits = dict(
                s.execute(select(Project.id, Project.limits).where(Project.id.in_(in_flight)))
                .tuples()
                .all()
            )
            full = {p for p, n in in_flight.items() if n >= cap(limits.get(p))}
            while True:
                chosen = s.execute(
                    select(T.c.id, T.c.project_id)
                    .join(Project, Project.id == T.c.project_id)
                    .where(T.c.status == "queued", T.c.project_id.not_in(full), _AUDIO_READY)
                    .order_by(Project.last_claimed_at.asc().nulls_first(), T.c.created_at, T.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True, of=T)
                ).first()
                if chosen is None:
                    return None
                # Claims of one project queue up on its row (PostgreSQL: SQLite serializes
                # writers anyway), then count again: another worker may have just taken one.
                overrides = s.scalar(
                    select(Project.limits).where(Project.id == chosen.project_id).with_for_update()
                )
                running = s.scalar(_RUNNING, {"project_id": chosen.project_id}) or 0
                if running < cap(overrides):
                    break
                full.add(chosen.project_id)
            s.execute(
                update(Transcription)
                .where(Transcription.id == chosen.id)
                .values(
                    status="processing",
                    started_at=now,
                    progress=0.0,
                    attempts=Transcription.attempts + 1,
                    lease_owner=owner,
                    lease_expires_at=now + lease,
                )
            )
            s.execute(
                update(Project).where(Project.id == chosen.project_id).values(last_claimed_at=now)
            )
            return s.get(Transcription, chosen.id)

    def park(self) -> int:
        """No job may start now (their projects are at their caps): every queued job is
        marked unsent, so the next finished job (or job sweep) sends them to the queue
        again. Only the Celery path needs this; its tasks are spent on claiming."""
        with self.db.write() as s:
            return s.execute(
                update(Transcription)
                .where(Transcription.status == "queued")
                .values(dispatched_at=None)
            ).rowcount

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


def _turn(last_claimed_at: datetime | None, oldest: datetime) -> tuple:
    # The claim's order: never-served projects first, then the one served longest ago.
    return (last_claimed_at is not None, last_claimed_at or oldest, oldest)


def fair_position(project_id: str, ahead_in_project: int, per_project: list) -> int:
    """1-based place in the fair order of a project's job with `ahead_in_project` of its own
    jobs queued before it: each round takes one job of every project with jobs left, in
    turn order. (Per-project caps can only move it later; it is an estimate.)"""
    k = ahead_in_project
    turns = {p: _turn(last, oldest) for p, _, oldest, last in per_project}
    mine = turns.get(project_id)
    position = 1 + k
    for other, queued, _, _ in per_project:
        if other == project_id:
            continue
        position += min(queued, k)
        if queued > k and mine is not None and turns[other] < mine:
            position += 1
    return position

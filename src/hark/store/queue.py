"""The job queue's reads and its fair claim: whose job runs next, where a queued job stands,
how fast jobs have been going. Kept apart from repository.py: these run on hot paths."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Dialect, Select, and_, bindparam, func, or_, select, update

from .db import Database
from .models import Project, Transcription, utcnow

T = Transcription.__table__
RECENT_JOBS = 20  # completed jobs the throughput estimate is taken over

# The columns a status poll needs: what the response shows (api/schemas.py's
# transcription_fields) and what its queue position and ETA are computed from. Not the
# worker's own (leases, partial text, attempts, timestamps): each column read costs a
# conversion on every poll.
STATUS_COLUMNS = (
    "id", "project_id", "status", "created_at", "model", "audio_url", "file_id", "filename",
    "language_hints", "language_hints_strict", "enable_speaker_diarization", "min_speakers",
    "max_speakers", "enable_language_identification",
    "enable_separate_recognition_per_channel", "translation", "context", "audio_duration_ms",
    "error_type", "error_message", "webhook_url", "webhook_auth_header_name",
    "webhook_auth_header_value", "webhook_status_code", "client_reference_id", "progress",
)  # fmt: skip
_STATUS = select(*(T.c[name] for name in STATUS_COLUMNS)).where(
    T.c.id == bindparam("id"), T.c.project_id == bindparam("project_id")
)
_MEMO_LIMIT = 4096  # jobs whose last converted row is kept (then it starts over)

# Built once: building a statement costs more than running it.
_IN_FLIGHT = select(T.c.project_id, T.c.audio_duration_ms, T.c.progress).where(
    T.c.status == "processing"
)
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
class InFlight:
    """A job being worked on, as a waiting job's estimate needs it."""

    project_id: str
    audio_duration_ms: int | None
    progress: float | None


@dataclass(frozen=True)
class QueueSnapshot:
    """Where a queued job stands at one moment: its place in line and what the workers are
    on (both empty for a job that is not queued)."""

    position: int | None = None  # 1: the next job a free worker takes
    in_flight: tuple[InFlight, ...] = ()  # the jobs being worked on now, all projects


@dataclass(frozen=True)
class Throughput:
    """How fast recent jobs went: audio seconds per processing second of one worker, and the
    mean processing time of a job."""

    audio_per_second: float
    job_seconds: float


class _Raw:
    """A statement compiled once for the DB-API: its SQL, and the SQLAlchemy processors of
    its parameters and columns (so values convert as through the ORM)."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.params = compiled.positiontup or []
        # The statement's own literals (`status == "queued"`) are bound parameters too.
        self.literals = {
            name: compiled.binds[name].effective_value
            for name in self.params
            if not compiled.binds[name].required
        }
        self.binds = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.params
        ]
        columns = list(statement.selected_columns)
        self.names = [c.name for c in columns]
        self.processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def run(self, cursor: Any, values: dict[str, Any] | None = None) -> list[tuple]:
        """The raw rows. fetchall, not fetchone: stepping the statement to its end resets
        it, so it holds no read snapshot open afterwards."""
        values = self.literals | values if values and self.literals else values or self.literals
        params = [
            values[name] if bind is None or values[name] is None else bind(values[name])
            for bind, name in zip(self.binds, self.params, strict=True)
        ]
        return cursor.execute(self.sql, params).fetchall()

    def convert(self, raw: tuple) -> list[Any]:
        return [
            value if process is None or value is None else process(value)
            for process, value in zip(self.processors, raw, strict=True)
        ]


class _RawReads:
    """The status poll's reads on a DB-API connection of its own (SQLite), skipping
    SQLAlchemy's execution machinery, which costs several times the reads themselves. The
    job's row is one statement in autocommit mode, its own read transaction (it sees every
    earlier commit); a waiting job's queue snapshot is one more read transaction. A row
    read again unchanged (the same raw values: a job polled between its updates) is the
    same converted object as last time, without converting it again (dates and JSON parsed
    cost more than the read itself)."""

    def __init__(self, db: Database) -> None:
        dialect = db.engine.dialect
        self.compiled = {
            statement: _Raw(statement, dialect)
            for statement in (_STATUS, _IN_FLIGHT, _QUEUED_PER_PROJECT, _AHEAD)
        }
        self.connection = db.engine.raw_connection()  # autocommit: see db._tune_sqlite
        self.cursor = self.connection.cursor()  # one, reused: callers hold JobQueue's lock
        # job id -> (raw row, its converted row); callers only read the converted rows.
        self._memo: dict[str, tuple[tuple, SimpleNamespace]] = {}

    def row(self, project_id: str, transcription_id: str) -> SimpleNamespace | None:
        read = self.compiled[_STATUS]
        rows = read.run(self.cursor, {"id": transcription_id, "project_id": project_id})
        if not rows:
            return None
        (raw,) = rows
        seen = self._memo.get(transcription_id)
        if seen is not None and seen[0] == raw:
            return seen[1]
        row = SimpleNamespace(**dict(zip(read.names, read.convert(raw), strict=True)))
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[transcription_id] = (raw, row)
        return row

    def snapshot(self, job: Any) -> QueueSnapshot:
        self.cursor.execute("BEGIN")  # one read transaction: one moment's counts
        try:
            return _snapshot(self._scalar, self._rows, job)
        finally:
            self.cursor.execute("COMMIT")

    def _rows(self, statement: Select, values: dict[str, Any] | None = None) -> list:
        compiled = self.compiled[statement]
        return [compiled.convert(raw) for raw in compiled.run(self.cursor, values)]

    def _scalar(self, statement: Select, values: dict[str, Any] | None = None) -> Any:
        rows = self.compiled[statement].run(self.cursor, values)
        return rows[0][0] if rows else None

    def close(self) -> None:
        self.cursor.close()
        self.connection.close()


def _snapshot(
    scalar: Callable[..., Any], rows: Callable[[Select], list], job: Any
) -> QueueSnapshot:
    """Where a queued job stands, with whichever connection runs the statements."""
    ahead = scalar(
        _AHEAD, {"project_id": job.project_id, "created_at": job.created_at, "id": job.id}
    )
    position = fair_position(job.project_id, ahead or 0, rows(_QUEUED_PER_PROJECT))
    return QueueSnapshot(position, tuple(InFlight(*row) for row in rows(_IN_FLIGHT)))


class JobQueue:
    def __init__(self, db: Database) -> None:
        self.db = db
        # SQLite: status polls read on the event loop, through a connection of their own (a
        # read in WAL mode never waits for a writer).
        self.inline = db.url.startswith("sqlite")
        self._raw: _RawReads | None = None
        self._lock = threading.Lock()

    def status(self, project_id: str, transcription_id: str) -> tuple[Any | None, QueueSnapshot]:
        """A job's row, fresh (None if this project has no such job), with its queue
        position when queued: one primary-key read for a finished job, a few index lookups
        more for a waiting one."""
        if self.inline:
            with self._lock:
                if self._raw is None:
                    self._raw = _RawReads(self.db)
                row = self._raw.row(project_id, transcription_id)
                if row is None or row.status != "queued":
                    return row, QueueSnapshot()
                return row, self._raw.snapshot(row)
        with self.db.engine.connect() as c:
            row = c.execute(_STATUS, {"id": transcription_id, "project_id": project_id}).first()
            if row is None or row.status != "queued":
                return row, QueueSnapshot()
            return row, _snapshot(c.scalar, lambda statement: c.execute(statement).all(), row)

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

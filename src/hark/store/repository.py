"""Every query Hark runs, each in its own short transaction. Rows come back detached."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Integer,
    and_,
    delete,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hark import invox

from .db import Database
from .models import (
    ApiKey,
    File,
    IdempotencyRecord,
    InvoxCredential,
    InvoxToken,
    PresignedUpload,
    Project,
    Transcription,
    TranscriptRow,
    WebhookDelivery,
    utcnow,
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


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.queue = JobQueue(db)  # the fair claim and the status poll's reads

    # -- projects and keys -------------------------------------------------------------

    def ensure_project(self, name: str) -> Project:
        try:
            with self.db.write() as s:
                project = s.scalar(select(Project).where(Project.name == name))
                if project is None:
                    project = Project(name=name)
                    s.add(project)
                return project
        except IntegrityError:  # another process created it at the same moment
            with self.db.read() as s:
                return s.scalars(select(Project).where(Project.name == name)).one()

    def project_limits(self, project_id: str) -> dict | None:
        with self.db.read() as s:
            return s.scalar(select(Project.limits).where(Project.id == project_id))

    def set_project_limits(self, name: str, limits: dict | None) -> Project:
        project = self.ensure_project(name)
        with self.db.write() as s:
            s.execute(update(Project).where(Project.id == project.id).values(limits=limits or None))
        project.limits = limits or None
        return project

    def add_api_key(
        self,
        project_id: str,
        key_hash: str,
        key_prefix: str,
        name: str | None,
        temporary: ApiKey | None = None,
    ) -> ApiKey:
        """Store a key; `temporary` carries the usage, expiry and limits of a temporary one.
        Raises AlreadyExists when a key with this hash is stored already."""
        key = temporary or ApiKey()
        key.project_id, key.key_hash, key.key_prefix, key.name = (
            project_id,
            key_hash,
            key_prefix,
            name,
        )
        try:
            with self.db.write() as s:
                s.add(key)
                return key
        except IntegrityError as exc:
            if self.has_api_key(key_hash):
                raise AlreadyExists("this API key is already stored") from None
            raise exc

    def has_api_key(self, key_hash: str) -> bool:
        with self.db.read() as s:
            return s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)) is not None

    def project_for_key(self, key_hash: str) -> str | None:
        """The project of a permanent, unrevoked key (temporary keys never match)."""
        with self.db.read() as s:
            return s.scalar(
                select(ApiKey.project_id).where(
                    ApiKey.key_hash == key_hash,
                    ApiKey.revoked_at.is_(None),
                    ApiKey.usage_type.is_(None),
                )
            )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        with self.db.read() as s:
            return s.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def use_temporary_key(self, key_hash: str, usage_type: str) -> ApiKey | None:
        """Spend one use of an unexpired temporary key made for `usage_type`; a single-use
        key is marked used in the same statement, so two racing uses cannot both win."""
        now = utcnow()
        usable = and_(
            ApiKey.key_hash == key_hash,
            ApiKey.usage_type == usage_type,
            ApiKey.revoked_at.is_(None),
            ApiKey.expires_at > now,
            or_(ApiKey.single_use.is_(False), ApiKey.used_at.is_(None)),
        )
        with self.db.write() as s:
            if not s.execute(update(ApiKey).where(usable).values(used_at=now)).rowcount:
                return None
            return s.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def purge_expired_keys(self, before: datetime) -> int:
        """Delete temporary keys and Invox access tokens that expired before `before`."""
        with self.db.write() as s:
            tokens = s.execute(delete(InvoxToken).where(InvoxToken.expires_at < before)).rowcount
            return (
                tokens
                + s.execute(
                    delete(ApiKey).where(ApiKey.usage_type.is_not(None), ApiKey.expires_at < before)
                ).rowcount
            )

    def list_api_keys(self) -> list[tuple[ApiKey, str]]:
        with self.db.read() as s:
            rows = s.execute(
                select(ApiKey, Project.name)
                .join(Project, Project.id == ApiKey.project_id)
                .where(ApiKey.usage_type.is_(None))
                .order_by(ApiKey.created_at)
            )
            return [(key, project) for key, project in rows]

    def count_active_api_keys(self) -> int:
        with self.db.read() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(ApiKey)
                    .where(ApiKey.revoked_at.is_(None), ApiKey.usage_type.is_(None))
                )
                or 0
            )

    def revoke_api_key(self, key_id_or_prefix: str) -> int:
        """Revoke the one active key with this id or prefix; returns how many matched
        (nothing is revoked unless exactly one did)."""
        match = and_(
            or_(ApiKey.id == key_id_or_prefix, ApiKey.key_prefix == key_id_or_prefix),
            ApiKey.revoked_at.is_(None),
            ApiKey.usage_type.is_(None),
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

    # -- files ---------------------------------------------------------------------------

    def _add_within(self, row: Row, quota: Quota) -> Row | Usage:
        """Insert `row`, unless it would take its project over `quota`: then nothing is
        written and the current usage comes back instead."""
        with self.db.write() as s:
            self._lock_project(s, row.project_id)
            usage = self.usage(row.project_id, s)
            if not quota.admits(usage, row):  # type: ignore[arg-type]
                return usage
            s.add(row)
            return row

    def add_file(self, file: File, quota: FileQuota) -> File | Usage:
        return self._add_within(file, quota)

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
        """Every blob key in use: stored files', and those S3 may still receive uploads at."""
        with self.db.read() as s:
            keys = set(s.scalars(select(File.storage_key)))
            return keys | set(
                s.scalars(
                    select(PresignedUpload.storage_key).where(
                        PresignedUpload.storage_key.is_not(None)
                    )
                )
            )

    # -- transcriptions ------------------------------------------------------------------

    def add_transcription(
        self, transcription: Transcription, quota: TranscriptionQuota
    ) -> Transcription | Usage:
        return self._add_within(transcription, quota)

    def get_transcription(self, project_id: str, transcription_id: str) -> Transcription | None:
        return self._get(Transcription, project_id, transcription_id)

    def list_transcriptions(
        self, project_id: str, limit: int, after: Cursor | None, status: str | None = None
    ) -> list[Transcription]:
        where = () if status is None else (Transcription.status == status,)
        return self._page(Transcription, project_id, limit, after, *where)

    def count_transcriptions(self, project_id: str) -> int:
        return self._count(Transcription, project_id)

    def delete_transcription(self, project_id: str, transcription_id: str) -> str:
        """Return "deleted", "not_found" or the blocking status ("processing")."""
        with self.db.write() as s:
            # The row lock keeps a worker from claiming the job between check and delete.
            status = s.scalar(
                select(Transcription.status)
                .where(Transcription.id == transcription_id, Transcription.project_id == project_id)
                .with_for_update()
            )
            if status is None:
                return "not_found"
            if status == "processing":
                return status
            s.execute(
                delete(TranscriptRow).where(TranscriptRow.transcription_id == transcription_id)
            )
            # Its deliveries too: a pending one would still send (an Invox callback carries
            # the transcript itself).
            s.execute(
                delete(WebhookDelivery).where(WebhookDelivery.transcription_id == transcription_id)
            )
            s.execute(delete(Transcription).where(Transcription.id == transcription_id))
            return "deleted"

    def get_transcript(self, transcription_id: str) -> TranscriptRow | None:
        with self.db.read() as s:
            return s.get(TranscriptRow, transcription_id)

    def edit_transcript(
        self, project_id: str, transcription_id: str, change: Callable[[TranscriptRow], None]
    ) -> TranscriptRow | None:
        """Apply `change` to a project's transcript under a row lock (so concurrent edits
        each see the other's), or None when there is no such transcript. `change` assigns
        new values: JSON columns are not watched for changes made in place."""
        with self.db.write() as s:
            row = s.scalar(
                select(TranscriptRow)
                .join(Transcription, Transcription.id == TranscriptRow.transcription_id)
                .where(
                    TranscriptRow.transcription_id == transcription_id,
                    Transcription.project_id == project_id,
                )
                .with_for_update()
            )
            if row is not None:
                change(row)
            return row

    def search_transcripts(
        self, project_id: str, terms: list[str], prefix: bool, limit: int
    ) -> list[tuple[Transcription, TranscriptRow]]:
        """A project's completed transcripts holding every one of `terms` (whole words,
        any case; the last one as a word's beginning when `prefix`), best match first:
        SQLite's FTS5 table, or PostgreSQL's full-text search."""
        if not terms:
            return []
        query = (
            select(Transcription, TranscriptRow)
            .join(TranscriptRow, TranscriptRow.transcription_id == Transcription.id)
            .where(Transcription.project_id == project_id, Transcription.status == "completed")
            .limit(limit)
        )
        if self.db.engine.dialect.name == "postgresql":
            words = [f"{t}:*" if prefix and i == len(terms) - 1 else t for i, t in enumerate(terms)]
            simple = literal_column("'simple'::regconfig")
            vector = func.to_tsvector(simple, TranscriptRow.text)
            matched = func.to_tsquery(simple, " & ".join(words))
            query = query.where(vector.op("@@")(matched)).order_by(
                func.ts_rank(vector, matched).desc(), Transcription.created_at.desc()
            )
        else:
            # Terms are word characters only (the caller's job), quoted as FTS5 strings.
            words = [f'"{t}"' for t in terms]
            if prefix:
                words[-1] += "*"
            hits = (
                select(
                    literal_column("transcription_id").label("id"),
                    literal_column("rank").label("rank"),
                )
                .select_from(sql("transcript_search"))
                .where(sql("transcript_search MATCH :match").bindparams(match=" ".join(words)))
                .subquery()
            )
            query = query.join(hits, hits.c.id == Transcription.id).order_by(
                hits.c.rank, Transcription.created_at.desc()
            )
        with self.db.read() as s:
            return [(job, transcript) for job, transcript in s.execute(query)]

    # -- job state machine ---------------------------------------------------------------
    #
    # A worker claims a queued job with a lease: `lease_owner` is a token new to each claim,
    # and only that token can record progress or finish the job. The worker renews the lease
    # while it works; a job whose lease ran out is re-queued by the job sweep, and if the old
    # holder comes back, its writes match nothing. So a job finishes once, whatever races.

    def claim(self, transcription_id: str, owner: str, lease: timedelta) -> Transcription | None:
        """queued -> processing, atomically: of any number of racing workers, one wins."""
        now = utcnow()
        with self.db.write() as s:
            won = s.execute(
                update(Transcription)
                .where(Transcription.id == transcription_id, Transcription.status == "queued")
                .values(
                    status="processing",
                    started_at=now,
                    progress=0.0,
                    partial_text=None,
                    attempts=Transcription.attempts + 1,
                    lease_owner=owner,
                    lease_expires_at=now + lease,
                )
            ).rowcount
            return s.get(Transcription, transcription_id) if won else None

    @staticmethod
    def _held(transcription_id: str, owner: str) -> Any:
        return and_(
            Transcription.id == transcription_id,
            Transcription.status == "processing",
            Transcription.lease_owner == owner,
        )

    def renew_lease(self, transcription_id: str, owner: str, lease: timedelta) -> bool:
        """Extend the lease; False when `owner` no longer holds the job."""
        with self.db.write() as s:
            return bool(
                s.execute(
                    update(Transcription)
                    .where(self._held(transcription_id, owner))
                    .values(lease_expires_at=utcnow() + lease)
                ).rowcount
            )

    def update_processing(self, transcription_id: str, owner: str, **values: Any) -> bool:
        """Record progress or duration; a job `owner` no longer holds (cancelled, or handed
        to another worker) is left alone, and the answer is False."""
        with self.db.write() as s:
            return bool(
                s.execute(
                    update(Transcription)
                    .where(self._held(transcription_id, owner))
                    .values(**values)
                ).rowcount
            )

    def complete(
        self,
        transcription_id: str,
        owner: str,
        text: str,
        tokens: list[dict],
        decoding: dict | None = None,
    ) -> bool:
        """processing -> completed with the transcript; `decoding` keeps what the decoder
        reported beyond the tokens (language, segments), for the OpenAI door."""
        with self.db.write() as s:
            done = s.execute(
                update(Transcription)
                .where(self._held(transcription_id, owner))
                .values(
                    status="completed",
                    progress=1.0,
                    finished_at=utcnow(),
                    lease_expires_at=None,
                    partial_text=None,
                )
            ).rowcount
            if done:
                s.merge(
                    TranscriptRow(
                        transcription_id=transcription_id,
                        text=text,
                        tokens=tokens,
                        decoding=decoding,
                    )
                )
                self._enqueue_webhook(s, transcription_id, tokens)
            return bool(done)

    def fail(self, transcription_id: str, owner: str, error_type: str, error_message: str) -> bool:
        with self.db.write() as s:
            done = s.execute(
                update(Transcription)
                .where(self._held(transcription_id, owner))
                .values(
                    status="error",
                    error_type=error_type,
                    error_message=error_message,
                    finished_at=utcnow(),
                    lease_expires_at=None,
                )
            ).rowcount
            if done:
                self._enqueue_webhook(s, transcription_id)
            return bool(done)

    def cancel(self, project_id: str, transcription_id: str, message: str) -> str:
        """queued/processing -> error ("cancelled"), whoever holds it: its worker finds
        out at its next write (see update_processing). Return "cancelled", "not_found" or
        the status that cannot be cancelled ("completed", "error")."""
        with self.db.write() as s:
            status = s.scalar(
                select(Transcription.status)
                .where(Transcription.id == transcription_id, Transcription.project_id == project_id)
                .with_for_update()
            )
            if status is None:
                return "not_found"
            if status not in ("queued", "processing"):
                return status
            s.execute(
                update(Transcription)
                .where(Transcription.id == transcription_id)
                .values(
                    status="error",
                    error_type="cancelled",
                    error_message=message,
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            self._enqueue_webhook(s, transcription_id)
            return "cancelled"

    @staticmethod
    def _enqueue_webhook(
        s: Session, transcription_id: str, tokens: list[dict] | None = None
    ) -> None:
        """Record the job's webhook in the transaction that finishes the job: a delivery
        exists exactly when the job has finished, whatever crashes afterwards. A job started
        by an Invox upload gets that API's signed callback instead of Hark's body."""
        job = s.get(Transcription, transcription_id)
        if job is None or not job.webhook_url:
            return
        delivery = WebhookDelivery(
            transcription_id=job.id,
            url=job.webhook_url,
            header_name=job.webhook_auth_header_name,
            header_value=job.webhook_auth_header_value,
            payload=json.dumps({"id": job.id, "status": job.status}),
            kind="hark",
        )
        request = s.scalar(
            select(PresignedUpload).where(
                PresignedUpload.transcription_id == job.id, PresignedUpload.kind == "invox"
            )
        )
        if request is not None:
            secret = s.scalar(select(Project.invox_secret).where(Project.id == job.project_id))
            delivery.kind = "invox"
            delivery.payload = invox.callback_body(
                request.id,
                invox.segments(tokens or []) if job.status == "completed" else [],
                int(utcnow().timestamp() * 1000),
                request.app_id or "",
                secret or "",
            )
        s.add(delivery)

    def requeue_abandoned(
        self,
        max_attempts: int,
        expired_before: datetime,
        holder_gone: Callable[[str | None], bool] | None = None,
    ) -> tuple[int, int]:
        """Jobs left `processing` by a dead worker go back to the queue, unless they already
        took a worker down `max_attempts` times: those whose lease ran out before
        `expired_before`, and with `holder_gone`, also those whose holder it says is gone
        (a process starting up knows its host's crashed predecessors). Never a job whose
        holder may still be working on it. Returns (requeued, failed)."""
        expired = or_(
            Transcription.lease_expires_at.is_(None),
            Transcription.lease_expires_at < expired_before,
        )
        abandoned = Transcription.status == "processing"
        if holder_gone is None:
            abandoned = and_(abandoned, expired)
        with self.db.write() as s:
            rows = s.execute(
                select(
                    Transcription.id,
                    Transcription.attempts,
                    expired.label("expired"),
                    Transcription.lease_owner,
                )
                .where(abandoned)
                .with_for_update(skip_locked=True)
            ).all()
            rows = [
                (job_id, attempts)
                for job_id, attempts, lapsed, holder in rows
                if lapsed or (holder_gone is not None and holder_gone(holder))
            ]
            doomed = [job_id for job_id, attempts in rows if attempts >= max_attempts]
            again = [job_id for job_id, attempts in rows if attempts < max_attempts]
            gave_up = {
                "status": "error",
                "error_type": "worker_crashed",
                "error_message": f"Processing this audio stopped the worker {max_attempts} "
                "times; giving up.",
                "finished_at": utcnow(),
            }
            back = {"status": "queued", "progress": 0.0, "lease_owner": None, "dispatched_at": None}
            for ids, values in ((doomed, gave_up), (again, back)):
                if ids:
                    s.execute(
                        update(Transcription)
                        .where(Transcription.id.in_(ids))
                        .values(lease_expires_at=None, **values)
                    )
            for transcription_id in doomed:
                self._enqueue_webhook(s, transcription_id)
            return len(again), len(doomed)

    def take_for_dispatch(self, stale_before: datetime | None) -> list[str]:
        """A batch of queued jobs to hand to the dispatcher (again), oldest first, stamped
        as sent now: those never sent (or whose sending failed), and those last sent before
        `stale_before`. Called again with the same `stale_before`, it pages on: what it
        stamped is no longer before it."""
        due = Transcription.dispatched_at.is_(None)
        if stale_before is not None:
            due = or_(due, Transcription.dispatched_at < stale_before)
        with self.db.write() as s:
            ids = list(
                s.scalars(
                    select(Transcription.id)
                    .where(Transcription.status == "queued", due)
                    .order_by(Transcription.created_at)
                    .limit(DISPATCH_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                s.execute(
                    update(Transcription)
                    .where(Transcription.id.in_(ids))
                    .values(dispatched_at=utcnow())
                )
            return ids

    def mark_undispatched(self, ids: list[str]) -> None:
        """The dispatcher could not take these jobs: the next job sweep sends them again."""
        with self.db.write() as s:
            s.execute(
                update(Transcription)
                .where(Transcription.id.in_(ids), Transcription.status == "queued")
                .values(dispatched_at=None)
            )

    def job_counts(self) -> dict[str, int]:
        """Jobs by status, over all projects."""
        with self.db.read() as s:
            rows = s.execute(
                select(Transcription.status, func.count()).group_by(Transcription.status)
            ).all()
        return {status: 0 for status in STATUSES} | {status: count for status, count in rows}

    def oldest_queued_at(self) -> datetime | None:
        with self.db.read() as s:
            return s.scalar(
                select(func.min(Transcription.created_at)).where(Transcription.status == "queued")
            )

    # -- webhooks ------------------------------------------------------------------------

    def due_webhooks(self, limit: int, lease: timedelta) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come, leased so no other sender takes them
        while this one is trying (a sender that dies just lets the lease run out)."""
        now = utcnow()
        with self.db.write() as s:
            rows = list(
                s.scalars(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.next_attempt_at = now + lease
            return rows

    def postpone_webhook(self, delivery_id: str, at: datetime) -> None:
        """Put a leased delivery back, untried, to be due at `at`."""
        with self.db.write() as s:
            s.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending")
                .values(next_attempt_at=at)
            )

    def next_webhook_at(self) -> datetime | None:
        with self.db.read() as s:
            return s.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.status == "pending"
                )
            )

    def record_webhook_attempt(
        self,
        delivery_id: str,
        status_code: int | None,
        error: str | None,
        retry_at: datetime | None,
        delivered: bool,
    ) -> None:
        """Store one attempt's outcome: delivered, to be retried at `retry_at`, or failed."""
        with self.db.write() as s:
            delivery = s.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_status_code = status_code
            delivery.last_error = error
            if delivered or retry_at is None:
                delivery.status = "delivered" if delivered else "failed"
                delivery.finished_at = utcnow()
            else:
                delivery.next_attempt_at = retry_at
            if status_code is not None:
                s.execute(
                    update(Transcription)
                    .where(Transcription.id == delivery.transcription_id)
                    .values(webhook_status_code=status_code)
                )

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
        those created before `created_before` (retention). Returns the storage keys S3 could
        still hold an object at, for the caller to delete."""
        expired = and_(
            PresignedUpload.state != "done", PresignedUpload.expires_at < unfinished_before
        )
        if created_before is not None:
            expired = or_(expired, PresignedUpload.created_at < created_before)
        keys: list[str] = []
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

    # -- Invox credentials and access tokens ---------------------------------------------

    def add_invox_credential(
        self, project: str, app_id: str, key_hash: str, new_secret: str
    ) -> InvoxCredential:
        """Store a credential; the project gets `new_secret` for its callbacks unless it
        has one already."""
        project_id = self.ensure_project(project).id
        with self.db.write() as s:
            s.execute(
                update(Project)
                .where(Project.id == project_id, Project.invox_secret.is_(None))
                .values(invox_secret=new_secret)
            )
            credential = InvoxCredential(project_id=project_id, app_id=app_id, key_hash=key_hash)
            s.add(credential)
            return credential

    def invox_credential(self, app_id: str) -> InvoxCredential | None:
        """The active credential with this app id."""
        with self.db.read() as s:
            return s.scalar(
                select(InvoxCredential).where(
                    InvoxCredential.app_id == app_id, InvoxCredential.revoked_at.is_(None)
                )
            )

    def add_invox_token(self, token_hash: str, credential_id: str, expires_at: datetime) -> None:
        with self.db.write() as s:
            s.add(
                InvoxToken(
                    token_hash=token_hash, credential_id=credential_id, expires_at=expires_at
                )
            )

    def invox_caller(self, token_hash: str) -> tuple[str, str] | None:
        """(project id, app id) of an unexpired token whose credential is not revoked."""
        with self.db.read() as s:
            row = s.execute(
                select(InvoxCredential.project_id, InvoxCredential.app_id)
                .join(InvoxToken, InvoxToken.credential_id == InvoxCredential.id)
                .where(
                    InvoxToken.token_hash == token_hash,
                    InvoxToken.expires_at > utcnow(),
                    InvoxCredential.revoked_at.is_(None),
                )
            ).first()
            return None if row is None else (row[0], row[1])

    def invox_secret(self, project: str, new_secret: str | None = None) -> str | None:
        """A project's callback signing secret, after replacing it with `new_secret`."""
        return self._project_setting(project, Project.invox_secret, new_secret)

    def webhook_secret(self, project: str, new_secret: str | None = None) -> str | None:
        """A project's own webhook signing secret, after replacing it with `new_secret`."""
        return self._project_setting(project, Project.webhook_secret, new_secret)

    def private_networks(self, project: str, networks: list[str] | None = None) -> list[str]:
        """The private networks a project's URLs may reach, after replacing them."""
        return self._project_setting(project, Project.allowed_private_networks, networks) or []

    def _project_setting(self, project: str, column: Any, new_value: Any) -> Any:
        project_id = self.ensure_project(project).id
        with self.db.write() as s:
            if new_value is not None:
                s.execute(
                    update(Project).where(Project.id == project_id).values({column: new_value})
                )
            return s.scalar(select(column).where(Project.id == project_id))

    def url_exceptions(self, project_id: str) -> list[str]:
        """The private networks a project (by id) may reach besides the server-wide ones."""
        with self.db.read() as s:
            networks = s.scalar(
                select(Project.allowed_private_networks).where(Project.id == project_id)
            )
        return networks or []

    def delivery_project(self, transcription_id: str) -> Project | None:
        """The project a webhook delivery is made for (for its secret and URL exceptions)."""
        with self.db.read() as s:
            return s.scalar(
                select(Project)
                .join(Transcription, Transcription.project_id == Project.id)
                .where(Transcription.id == transcription_id)
            )

    def list_invox_credentials(self) -> list[tuple[InvoxCredential, str]]:
        with self.db.read() as s:
            rows = s.execute(
                select(InvoxCredential, Project.name)
                .join(Project, Project.id == InvoxCredential.project_id)
                .order_by(InvoxCredential.created_at)
            )
            return [(credential, project) for credential, project in rows]

    def revoke_invox_credential(self, app_id: str) -> int:
        """Revoke the active credential with this app id (and so its tokens)."""
        with self.db.write() as s:
            return s.execute(
                update(InvoxCredential)
                .where(InvoxCredential.app_id == app_id, InvoxCredential.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount

    # -- idempotency ---------------------------------------------------------------------

    def get_idempotency(
        self, project_id: str, key: str, since: datetime
    ) -> IdempotencyRecord | None:
        with self.db.read() as s:
            return s.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.project_id == project_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at >= since,
                )
            )

    def put_idempotency(self, record: IdempotencyRecord, since: datetime) -> IdempotencyRecord:
        """Store `record` unless a live one exists for its key; returns the one in force."""
        try:
            with self.db.write() as s:
                s.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.project_id == record.project_id,
                        IdempotencyRecord.key == record.key,
                        IdempotencyRecord.created_at < since,
                    )
                )
                s.add(record)
                return record
        except IntegrityError:  # a concurrent request with the same key won
            existing = self.get_idempotency(record.project_id, record.key, since)
            if existing is None:
                raise
            return existing

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

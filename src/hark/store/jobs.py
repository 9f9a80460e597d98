"""Transcriptions and the job state machine: claims, leases, completion, dispatch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from .base import (
    DISPATCH_BATCH,
    STATUSES,
    Cursor,
    TranscriptionQuota,
    Usage,
)
from .models import (
    IdempotencyRecord,
    Transcription,
    TranscriptRow,
    WebhookDelivery,
    utcnow,
)
from .webhooks import WebhooksStore


class JobsStore(WebhooksStore):
    # -- transcriptions ------------------------------------------------------------------

    def add_transcription(
        self,
        transcription: Transcription,
        quota: TranscriptionQuota,
        claim: IdempotencyRecord | None = None,
        since: datetime | None = None,
    ) -> Transcription | Usage | IdempotencyRecord:
        return self._add_within(transcription, quota, claim, since)

    def get_transcription(self, project_id: str, transcription_id: str) -> Transcription | None:
        return self._get(Transcription, project_id, transcription_id)

    def list_transcriptions(
        self, project_id: str, limit: int, after: Cursor | None, status: str | None = None
    ) -> list[Transcription]:
        where = () if status is None else (Transcription.status == status,)
        return self._page(Transcription, project_id, limit, after, *where)

    def count_transcriptions(self, project_id: str) -> int:
        return self._count(Transcription, project_id)

    @staticmethod
    def _locked_status(s: Session, project_id: str, transcription_id: str) -> str | None:
        """The job's status, its row locked until the transaction ends (None: no such job)."""
        return s.scalar(
            select(Transcription.status)
            .where(Transcription.id == transcription_id, Transcription.project_id == project_id)
            .with_for_update()
        )

    def delete_transcription(self, project_id: str, transcription_id: str) -> str:
        """Return "deleted", "not_found" or the blocking status ("processing")."""
        with self.db.write() as s:
            # The row lock keeps a worker from claiming the job between check and delete.
            status = self._locked_status(s, project_id, transcription_id)
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
        # Queued too: a download (claim_fetch) leases the job while it stays queued. Lease
        # tokens are new to each claim, so a token names one stage of one attempt.
        return and_(
            Transcription.id == transcription_id,
            Transcription.status.in_(("queued", "processing")),
            Transcription.lease_owner == owner,
        )

    # The download stage: an audio_url job is fetched while it stays queued, under a lease
    # of its own, and its audio stored; only then may the engine stage claim it (see
    # queue.claim_next). A crashed download's lease runs out and the job is claimed again.

    def claim_fetch(self, owner: str, lease: timedelta) -> Transcription | None:
        """The oldest queued audio_url job not fetched yet and not being fetched, leased to
        `owner`; None when there is none."""
        now = utcnow()
        with self.db.write() as s:
            job_id = s.scalar(
                select(Transcription.id)
                .where(
                    Transcription.status == "queued",
                    Transcription.audio_url.is_not(None),
                    Transcription.audio_key.is_(None),
                    or_(
                        Transcription.lease_owner.is_(None),
                        Transcription.lease_expires_at < now,
                    ),
                )
                .order_by(Transcription.created_at, Transcription.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job_id is None:
                return None
            s.execute(
                update(Transcription)
                .where(Transcription.id == job_id)
                .values(lease_owner=owner, lease_expires_at=now + lease)
            )
            return s.get(Transcription, job_id)

    def store_fetched(self, transcription_id: str, owner: str, audio_key: str) -> bool:
        """The download is stored at `audio_key`: the job is ready for the engine (and is
        due to be dispatched). False when `owner` no longer holds it (cancelled, deleted, or
        its lease ran out): the caller then removes the blob."""
        with self.db.write() as s:
            return bool(
                s.execute(
                    update(Transcription)
                    .where(self._held(transcription_id, owner), Transcription.status == "queued")
                    .values(audio_key=audio_key, lease_owner=None, lease_expires_at=None)
                ).rowcount
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
            status = self._locked_status(s, project_id, transcription_id)
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
        holder may still be working on it. Returns (requeued, failed).

        A job whose holder is gone was interrupted by that process's end (a restart, a
        kill, the host going down), not by its audio, which only the supervised engine
        process handles (its crashes count against HARK_ENGINE_MAX_RETRIES): that claim is
        not counted, so restarts, however many, never fail a job. A lapsed lease (a worker
        elsewhere vanished or hung) counts."""
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
            restarted, lapsed_rows = [], []
            for job_id, attempts, lapsed, holder in rows:
                if holder_gone is not None and holder_gone(holder):
                    restarted.append(job_id)
                elif lapsed:
                    lapsed_rows.append((job_id, attempts))
            doomed = [job_id for job_id, attempts in lapsed_rows if attempts >= max_attempts]
            again = [job_id for job_id, attempts in lapsed_rows if attempts < max_attempts]
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
            if restarted:
                s.execute(
                    update(Transcription)
                    .where(Transcription.id.in_(restarted))
                    .values(lease_expires_at=None, attempts=Transcription.attempts - 1, **back)
                )
            for transcription_id in doomed:
                self._enqueue_webhook(s, transcription_id)
            if holder_gone is not None:
                # Downloads of crashed processes: claimable again now, not when their leases
                # run out.
                fetching = s.execute(
                    select(Transcription.id, Transcription.lease_owner).where(
                        Transcription.status == "queued", Transcription.lease_owner.is_not(None)
                    )
                ).all()
                gone = [job_id for job_id, holder in fetching if holder_gone(holder)]
                if gone:
                    s.execute(
                        update(Transcription)
                        .where(Transcription.id.in_(gone), Transcription.status == "queued")
                        .values(lease_owner=None, lease_expires_at=None)
                    )
            return len(again) + len(restarted), len(doomed)

    def release(self, transcription_id: str, owner: str) -> bool:
        """processing -> queued, the claim not counted: its worker is shutting down (the
        job was interrupted, not at fault). False when `owner` no longer holds it."""
        with self.db.write() as s:
            return bool(
                s.execute(
                    update(Transcription)
                    .where(self._held(transcription_id, owner))
                    .values(
                        status="queued",
                        progress=0.0,
                        attempts=Transcription.attempts - 1,
                        lease_owner=None,
                        lease_expires_at=None,
                        dispatched_at=None,
                    )
                ).rowcount
            )

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

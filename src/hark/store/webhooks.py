"""Webhook deliveries: recorded with the job's end, leased to senders, retried."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from .base import (
    StoreBase,
)
from .models import (
    PresignedUpload,
    Project,
    Transcription,
    WebhookDelivery,
    utcnow,
)


@dataclass(frozen=True)
class PartnerCallback:
    """What a partner's callback is made of (an Invox request's, today): the store finds
    it; the body and its signature are the partner's format, built above the store."""

    kind: str  # the request's kind ("invox"), also the delivery's
    request_id: str
    app_id: str
    secret: str  # the project's secret for this partner's callbacks
    status: str  # completed | error
    tokens: list[dict]


# Renders a partner callback's body (its wire format and signature).
CallbackBody = Callable[[PartnerCallback], str]


class WebhooksStore(StoreBase):
    def _enqueue_webhook(
        self, s: Session, transcription_id: str, tokens: list[dict] | None = None
    ) -> None:
        """Record the job's webhook in the transaction that finishes the job: a delivery
        exists exactly when the job has finished, whatever crashes afterwards. A job started
        by a partner's upload (Invox) gets that partner's callback instead of Hark's body,
        rendered by the `callback_body` the store was given."""
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
            if self.callback_body is None:
                raise RuntimeError("this store renders no partner callbacks (no callback_body)")
            secret = s.scalar(select(Project.invox_secret).where(Project.id == job.project_id))
            delivery.kind = request.kind
            delivery.payload = self.callback_body(
                PartnerCallback(
                    request.kind,
                    request.id,
                    request.app_id or "",
                    secret or "",
                    job.status,
                    tokens or [],
                )
            )
        s.add(delivery)

    # -- webhooks ------------------------------------------------------------------------

    def due_webhooks(self, limit: int, lease: timedelta, owner: str) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come, leased to `owner` so no other sender
        takes them while this one is trying (a sender that dies lets the lease run out, or
        release_webhooks hands them back sooner)."""
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
                row.lease_owner = owner
            return rows

    def release_webhooks(self, holder_gone: Callable[[str], bool]) -> int:
        """Make the leased deliveries whose sender `holder_gone` says is gone due now (a
        killed process was sending them); how many."""
        now = utcnow()
        with self.db.write() as s:
            rows = s.execute(
                select(WebhookDelivery.id, WebhookDelivery.lease_owner)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.lease_owner.is_not(None),
                    WebhookDelivery.next_attempt_at > now,
                )
                .with_for_update(skip_locked=True)
            ).all()
            gone = [row.id for row in rows if holder_gone(row.lease_owner)]
            if gone:
                s.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(gone))
                    .values(next_attempt_at=now, lease_owner=None)
                )
            return len(gone)

    def postpone_webhook(self, delivery_id: str, at: datetime) -> None:
        """Put a leased delivery back, untried, to be due at `at`."""
        with self.db.write() as s:
            s.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending")
                .values(next_attempt_at=at, lease_owner=None)
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
            delivery.lease_owner = None
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

"""Idempotency records (Idempotency-Key replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy.orm import Session

from .base import (
    StoreBase,
)
from .models import (
    IdempotencyRecord,
)


class IdempotencyStore(StoreBase):
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

    @staticmethod
    def _live_idempotency(
        s: Session, claim: IdempotencyRecord, since: datetime
    ) -> IdempotencyRecord | None:
        """In a write transaction: the record holding `claim`'s key, if newer than `since`
        (an older one is dropped: its key may be used again)."""
        key = (IdempotencyRecord.project_id == claim.project_id, IdempotencyRecord.key == claim.key)
        s.execute(delete(IdempotencyRecord).where(*key, IdempotencyRecord.created_at < since))
        return s.scalar(select(IdempotencyRecord).where(*key))

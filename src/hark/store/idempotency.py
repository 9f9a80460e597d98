"""Idempotency records (Idempotency-Key replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError

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

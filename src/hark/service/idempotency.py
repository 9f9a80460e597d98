"""`Idempotency-Key` on creates: a retried request returns what the first one created."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from hark.store import IdempotencyRecord, Store, utcnow

from .errors import Conflict, FieldError, InvalidRequest

WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def request_hash(kind: str, *parts: bytes | str | None) -> str:
    """A digest of what makes two requests "the same": the endpoint and its content."""
    digest = hashlib.sha256(kind.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part or b""
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            validation_errors=[FieldError("header.Idempotency-Key", "invalid key")],
        )
    return key


def _reused(key: str) -> Conflict:
    return Conflict(
        f"Idempotency-Key {key!r} was already used with a different request in the last "
        "24 hours; use a new key for a new request.",
        error_type="idempotency_key_reused",
    )


class Idempotency:
    def __init__(self, store: Store) -> None:
        self.store = store

    def lookup(self, project_id: str, key: str, digest: str) -> str | None:
        """The id created by an earlier request with this key, if any (same request only)."""
        record = self.store.get_idempotency(project_id, key, utcnow() - WINDOW)
        if record is None:
            return None
        if record.request_hash != digest:
            raise _reused(key)
        return record.resource_id

    def remember(
        self,
        project_id: str,
        key: str,
        digest: str,
        resource_id: str,
        discard: Callable[[], object],
    ) -> str:
        """Record what this key created. If a concurrent request with the same key got there
        first, `discard` removes ours, and the winner's id comes back (or 409 if the two
        requests differ)."""
        record = self.store.put_idempotency(
            IdempotencyRecord(
                project_id=project_id, key=key, request_hash=digest, resource_id=resource_id
            ),
            utcnow() - WINDOW,
        )
        if record.resource_id != resource_id:
            discard()
            if record.request_hash != digest:
                raise _reused(key)
        return record.resource_id

    @staticmethod
    def gone(key: str) -> Conflict:
        return Conflict(
            f"What Idempotency-Key {key!r} created has since been deleted; use a new key.",
            error_type="idempotent_resource_deleted",
        )

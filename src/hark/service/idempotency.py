"""`Idempotency-Key` on creates: a retried request returns what the first one created."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from hark.store import IdempotencyRecord, Store, utcnow

from .errors import Conflict, FieldError, InvalidRequest

WINDOW = timedelta(hours=24)
T = TypeVar("T")
Fetch = Callable[[str], T | None]
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
    """The flow both creates share: `replay` before creating, `remember` after. `fetch`
    loads a resource of the caller's kind by id (None once deleted)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def replay(self, project_id: str, key: str, digest: str, fetch: Fetch[T]) -> T | None:
        """What an earlier request with this key created, if any (same request only)."""
        record = self.store.get_idempotency(project_id, key, utcnow() - WINDOW)
        if record is None:
            return None
        if record.request_hash != digest:
            raise _reused(key)
        return _existing(key, record.resource_id, fetch)

    def remember(
        self,
        project_id: str,
        key: str,
        digest: str,
        resource_id: str,
        fetch: Fetch[T],
        discard: Callable[[], object],
    ) -> T | None:
        """Record what this key created. If a concurrent request with the same key got there
        first, `discard` removes ours and the winner's resource comes back (or 409 if the
        two requests differ); None means ours stands."""
        record = self.store.put_idempotency(
            IdempotencyRecord(
                project_id=project_id, key=key, request_hash=digest, resource_id=resource_id
            ),
            utcnow() - WINDOW,
        )
        if record.resource_id == resource_id:
            return None
        discard()
        if record.request_hash != digest:
            raise _reused(key)
        return _existing(key, record.resource_id, fetch)


def _existing(key: str, resource_id: str, fetch: Fetch[T]) -> T:
    resource = fetch(resource_id)
    if resource is None:
        raise Conflict(
            f"What Idempotency-Key {key!r} created has since been deleted; use a new key.",
            error_type="idempotent_resource_deleted",
        )
    return resource

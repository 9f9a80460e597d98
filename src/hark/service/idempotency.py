"""`Idempotency-Key` on creates: a retried request returns what the first one created."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
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
    """The flow every create shares: `replay` before creating; then the resource is written
    together with its `claim` (in one transaction, see Store._add_within), and when a
    concurrent request with the same key got there first, `winner` is what it created.
    `fetch` loads a resource of the caller's kind by id (None once deleted)."""

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

    @staticmethod
    def claim(project_id: str, key: str | None, digest: str | None) -> IdempotencyRecord | None:
        """The record to write with the resource (which fills in its id); None without a
        key."""
        if key is None or digest is None:
            return None
        return IdempotencyRecord(project_id=project_id, key=key, request_hash=digest)

    @staticmethod
    def since() -> datetime:
        """Records older than this no longer hold their key."""
        return utcnow() - WINDOW

    @staticmethod
    def winner(held: IdempotencyRecord, digest: str, fetch: Fetch[T]) -> T:
        """What the request that holds the key created (409 if it was another request)."""
        if held.request_hash != digest:
            raise _reused(held.key)
        return _existing(held.key, held.resource_id, fetch)


def _existing(key: str, resource_id: str, fetch: Fetch[T]) -> T:
    resource = fetch(resource_id)
    if resource is None:
        raise Conflict(
            f"What Idempotency-Key {key!r} created has since been deleted; use a new key.",
            error_type="idempotent_resource_deleted",
        )
    return resource

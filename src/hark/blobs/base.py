"""The audio storage port: stream bytes in, get a local path out, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Protocol


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class SizeLimitedWriter:
    """What every writer shares: a fresh key, and a byte count that aborts the blob and
    raises TooLarge once it passes `max_size`. Subclasses store the bytes (`_append`)."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self.key = uuid.uuid4().hex
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_size:
            self.abort()
            raise TooLarge(self._max_size)
        self._append(chunk)

    def _append(self, chunk: bytes) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class BlobWriter(Protocol):
    size: int

    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> str:
        """Make the blob durable and visible; returns its key."""
        ...

    def abort(self) -> None:
        """Throw away everything written so far."""
        ...


class BlobStore(Protocol):
    def open_writer(self, max_size: int) -> BlobWriter: ...
    def local_path(self, key: str) -> AbstractContextManager[Path]: ...
    def delete(self, key: str) -> None: ...
    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (inclusive) of a stored blob, in chunks."""
        ...

    def stored_keys(self, before: datetime) -> Iterator[str]:
        """Keys of the blobs last written before `before`."""
        ...

    def sweep_partials(self, before: datetime) -> int:
        """Remove uploads a crash left half-written: those untouched since `before`."""
        ...

    def check(self) -> None:
        """Raise unless the storage can be used right now (for /readyz)."""
        ...

    def new_key(self) -> str:
        """A fresh key for a blob a client will upload straight to the storage."""
        ...

    def presigned_put(
        self, key: str, expires_in: int, content_type: str | None, size: int
    ) -> str | None:
        """A URL a client can PUT the blob `key` to without credentials, signed for exactly
        `size` bytes (and this Content-Type when given), or None when the storage cannot take
        uploads itself (Hark then receives the PUT)."""
        ...

    def adopt(self, key: str) -> tuple[str, int] | None:
        """Take in what a client uploaded to `key`: moved to a fresh key that no URL can
        write to, returned with its size; None while nothing is there."""
        ...

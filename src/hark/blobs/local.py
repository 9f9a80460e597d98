"""Audio kept in a local directory: written to a partial file, renamed into place on commit."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .base import SizeLimitedWriter

READ_CHUNK = 256 * 1024


class LocalBlobWriter(SizeLimitedWriter):
    def __init__(self, store: LocalBlobStore, max_size: int) -> None:
        super().__init__(max_size)
        self._store = store
        self._partial = store.partial_dir / self.key
        self._file = self._partial.open("xb")

    def _append(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self) -> str:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            final = self._store.path_for(self.key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._partial, final)
        except BaseException:
            self.abort()
            raise
        return self.key

    def abort(self) -> None:
        try:
            # Closing flushes what is buffered, which fails again on a full disk; the
            # partial file goes whatever happens, so the space comes back.
            self._file.close()
        except OSError:
            pass
        finally:
            self._partial.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / ".partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key[:2] / key

    def open_writer(self, max_size: int) -> LocalBlobWriter:
        return LocalBlobWriter(self, max_size)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with self.path_for(key).open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := f.read(min(READ_CHUNK, left))):
                left -= len(chunk)
                yield chunk

    def stored_keys(self, before: datetime) -> Iterator[str]:
        for shard in self.root.iterdir():
            if shard.is_dir() and shard != self.partial_dir:
                yield from (p.name for p in shard.iterdir() if _older(p, before))

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def check(self) -> None:
        if not os.access(self.partial_dir, os.W_OK | os.X_OK):
            raise OSError(f"{self.root} is not writable")

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def presigned_put(self, key: str, expires_in: int, content_type: str | None, size: int) -> None:
        return None  # a directory has no URLs: Hark receives the PUT itself

    def adopt(self, key: str) -> None:
        return None  # nothing is ever uploaded around Hark

    def sweep_partials(self, before: datetime) -> int:
        removed = 0
        for partial in self.partial_dir.iterdir():
            if _older(partial, before):  # a live upload writes to it all the time
                partial.unlink(missing_ok=True)
                removed += 1
        return removed


def _older(path: Path, before: datetime) -> bool:
    """A regular file last written before `before` (False once it is gone)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return path.is_file() and stat.st_mtime < before.timestamp()

"""Audio storage, chosen by URL (`file://` today)."""

from __future__ import annotations

from urllib.parse import urlparse

from .base import BlobStore, BlobWriter, TooLarge
from .local import LocalBlobStore


def open_blob_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(parsed.path)
    raise ValueError(f"unsupported storage URL scheme {parsed.scheme!r} (supported: file://)")


__all__ = ["BlobStore", "BlobWriter", "LocalBlobStore", "TooLarge", "open_blob_store"]

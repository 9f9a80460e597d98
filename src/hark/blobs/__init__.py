"""Audio storage, chosen by URL: `file:///dir` or `s3://bucket/prefix`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from .base import BlobStore, BlobWriter, TooLarge
from .local import LocalBlobStore
from .s3 import S3BlobStore, S3Options


def open_blob_store(
    url: str, scratch_dir: Path | None = None, s3: S3Options | None = None
) -> BlobStore:
    """`scratch_dir` holds local copies of remote audio while a worker uses them."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(parsed.path)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket (s3://bucket/prefix)")
        return S3BlobStore(
            parsed.netloc,
            parsed.path,
            scratch_dir or Path("hark-data/downloads"),
            s3 or S3Options(),
        )
    raise ValueError(
        f"unsupported storage URL scheme {parsed.scheme!r} (supported: file://, s3://)"
    )


__all__ = [
    "BlobStore",
    "BlobWriter",
    "LocalBlobStore",
    "S3BlobStore",
    "S3Options",
    "TooLarge",
    "open_blob_store",
]

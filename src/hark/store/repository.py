"""`Store`: every query Hark runs, each in its own short transaction (rows come back
detached), composed of one module per concern."""

from __future__ import annotations

from .base import AlreadyExists, Cursor, FileQuota, TranscriptionQuota, Usage
from .files import FilesStore
from .idempotency import IdempotencyStore
from .invox import InvoxStore
from .jobs import JobsStore
from .keys import KeysStore
from .projects import ProjectsStore
from .retention import RetentionStore
from .transcripts import TranscriptsStore
from .uploads import UploadsStore

__all__ = ["AlreadyExists", "Cursor", "FileQuota", "Store", "TranscriptionQuota", "Usage"]


class Store(
    KeysStore,
    FilesStore,
    JobsStore,
    TranscriptsStore,
    UploadsStore,
    InvoxStore,
    ProjectsStore,
    IdempotencyStore,
    RetentionStore,
):
    """The one facade: call sites keep `store.claim(...)`, `store.add_file(...)`, ..."""

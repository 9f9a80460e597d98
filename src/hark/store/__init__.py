"""Metadata storage: SQLAlchemy 2 on SQLite (default) or PostgreSQL, migrated by Alembic."""

from .db import DATABASE_UNAVAILABLE, Database
from .models import (
    ApiKey,
    File,
    IdempotencyRecord,
    InvoxCredential,
    InvoxToken,
    PresignedUpload,
    Project,
    Transcription,
    TranscriptRow,
    WebhookDelivery,
    new_id,
    utcnow,
)
from .repository import AlreadyExists, Cursor, FileQuota, Store, TranscriptionQuota, Usage
from .webhooks import CallbackBody, PartnerCallback

__all__ = [
    "DATABASE_UNAVAILABLE",
    "AlreadyExists",
    "ApiKey",
    "CallbackBody",
    "Cursor",
    "Database",
    "File",
    "FileQuota",
    "IdempotencyRecord",
    "InvoxCredential",
    "InvoxToken",
    "PartnerCallback",
    "PresignedUpload",
    "Project",
    "Store",
    "TranscriptRow",
    "Transcription",
    "TranscriptionQuota",
    "Usage",
    "WebhookDelivery",
    "new_id",
    "utcnow",
]

"""Metadata storage: SQLAlchemy 2 on SQLite (default) or PostgreSQL, migrated by Alembic."""

from .db import Database
from .models import ApiKey, File, Project, Transcription, TranscriptRow
from .repository import Cursor, Store

__all__ = [
    "ApiKey",
    "Cursor",
    "Database",
    "File",
    "Project",
    "Store",
    "TranscriptRow",
    "Transcription",
]

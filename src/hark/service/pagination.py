"""Opaque keyset cursors: base64 of the last item's (created_at, id)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from hark.store import Cursor

from .errors import InvalidRequest


def encode_cursor(created_at: datetime, item_id: str) -> str:
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, item_id = raw.split("|", 1)
        when = datetime.fromisoformat(created_at)
        if when.tzinfo is None:
            raise ValueError("naive datetime")
        return when.astimezone(UTC), item_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidRequest(
            "The cursor is not valid; pass next_page_cursor from a previous page.",
            error_type="invalid_cursor",
        ) from None


def next_cursor(items: list, limit: int) -> str | None:
    if len(items) < limit:
        return None
    last = items[-1]
    return encode_cursor(last.created_at, last.id)

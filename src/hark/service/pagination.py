"""Opaque keyset cursors: base64 of the last item's (created_at, id)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from hark.store import Cursor

from .errors import InvalidRequest

T = TypeVar("T")


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


def page(
    fetch: Callable[[int, Cursor | None], list[T]], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """One page of `fetch(limit, after)`, and the cursor of the next one (None at the end)."""
    items = fetch(limit + 1, decode_cursor(cursor))  # one extra tells whether more exist
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, encode_cursor(items[-1].created_at, items[-1].id)

"""Pure ASGI middleware (cheap on the hot status-poll path): request ids and body limits."""

from __future__ import annotations

import random
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hark.service import PayloadTooLarge

# A version-4 UUID's layout: its version and variant bits kept, the rest random.
_UUID4_MASK = 0xFFFFFFFF_FFFF_0FFF_3FFF_FFFFFFFFFFFF
_UUID4_BITS = 0x00000000_0000_4000_8000_000000000000


def new_request_id() -> str:
    """A random UUID (version 4) for X-Request-Id: an id to find a request by, not a
    secret, so from `random` (reseeded in a forked child), at a third of uuid4()'s cost on
    the hot status-poll path."""
    h = "%032x" % (random.getrandbits(128) & _UUID4_MASK | _UUID4_BITS)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RequestContext:
    """Give every request an id (echoed as X-Request-Id) and cap how much body it may send."""

    def __init__(self, app: ASGIApp, body_limit: Callable[[Scope], int | None]) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.body_limit(scope)
        if limit is None:  # the route enforces its own limit while streaming
            await self.app(scope, receive, _with_request_id(send, request_id))
            return

        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise _too_large(scope, limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(scope, limit)
            return message

        await self.app(scope, limited_receive, _with_request_id(send, request_id))


def _with_request_id(send: Send, request_id: str) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                *message.get("headers", []),
                (b"x-request-id", request_id.encode()),
            ]
        await send(message)

    return send_with_id


def _too_large(scope: Scope, limit: int) -> PayloadTooLarge:
    error = PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
    # FastAPI reports any failure while reading a body as a generic 400; the error
    # handler looks here to answer 413 instead.
    scope["state"]["body_error"] = error
    return error


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

"""Pure ASGI middleware (cheap on the hot status-poll path): request ids and body limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hark.service import PayloadTooLarge


class RequestContext:
    """Give every request an id (echoed as X-Request-Id) and cap how much body it may send."""

    def __init__(self, app: ASGIApp, body_limit: Callable[[Scope], int | None]) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
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

"""The status poll's fast path: `GET /v1/transcriptions/{id}`, the request every client
repeats until its job is done, answered without FastAPI's routing, dependency solving,
validation and thread-pool hop.

It serves only what it can serve exactly as the app would: a GET of one transcription by a
caller whose key is in the auth cache (HARK_AUTH_CACHE_SECONDS), for a job of that caller's
project, fresh from the database. Anything else (an unknown or uncached key, no such job, a
database error) goes on to the app, which answers it (and caches the key)."""

from __future__ import annotations

import logging
import re
import uuid

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope, Send

from hark.service import Hark

from .schemas import transcription_fields

log = logging.getLogger(__name__)

_PATH = re.compile(r"(?:/v1)?/transcriptions/([^/]+)")
_NOT_IDS = {"count"}  # /transcriptions/count is a route of its own


class StatusPoll:
    def __init__(self, hark: Hark) -> None:
        self.hark = hark

    async def respond(self, scope: Scope, send: Send) -> bool:
        """Answer the request if it is a status poll this path serves; False otherwise."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        match = _PATH.fullmatch(scope["path"])
        if match is None or match[1] in _NOT_IDS:
            return False
        project_id = self.hark.keys.cached_project(_authorization(scope))
        if project_id is None:
            return False
        service = self.hark.transcriptions
        try:
            if service.status_reads_inline:
                status = service.status(project_id, match[1])
            else:
                status = await run_in_threadpool(service.status, project_id, match[1])
        except Exception as exc:  # the app tries again and reports it in the usual way
            log.warning("status poll fast path: %s: %s", type(exc).__name__, exc)
            return False
        if status is None:
            return False
        body = orjson.dumps(transcription_fields(status.row, status), option=orjson.OPT_UTC_Z)
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None

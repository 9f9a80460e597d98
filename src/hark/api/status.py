"""The status poll's fast path: `GET /v1/transcriptions/{id}`, the request every client
repeats until its job is done, answered without FastAPI's routing, dependency solving,
validation and thread-pool hop.

It serves only what it can serve exactly as the app would: a GET of one transcription by a
caller with a valid key (from the auth cache, HARK_AUTH_CACHE_SECONDS, or looked up and
cached here), within its rate limit, for a job of that caller's project, fresh from the
database. Anything else (a wrong key, no such job, a rate-limited key, a database error)
goes on to the app, which answers it with the usual error."""

from __future__ import annotations

import logging
import re

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope, Send

from hark.service import Hark, ServiceError
from hark.service.auth import hash_key
from hark.service.transcriptions import JobStatus

from .middleware import new_request_id
from .schemas import transcription_fields

log = logging.getLogger(__name__)

_PATH = re.compile(r"(?:/v1)?/transcriptions/([^/]+)")
_NOT_IDS = {"count"}  # /transcriptions/count is a route of its own
_BODIES_LIMIT = 4096  # jobs whose last body is kept (then it starts over)


class StatusPoll:
    def __init__(self, hark: Hark) -> None:
        self.hark = hark
        # job id -> (row, queue position, ETA, body): a job polled again unchanged (the
        # store gives back the same row object) is answered with the bytes already made.
        self._bodies: dict[str, tuple[object, int | None, float | None, bytes]] = {}

    async def respond(self, scope: Scope, send: Send) -> bool:
        """Answer the request if it is a status poll this path serves; False otherwise."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        match = _PATH.fullmatch(scope["path"])
        if match is None or match[1] in _NOT_IDS:
            return False
        transcription_id = match[1]
        authorization = _authorization(scope)
        service = self.hark.transcriptions
        inline = service.status_reads_inline
        try:
            project_id = self.hark.keys.cached_project(authorization)
            if project_id is None:
                # Looked up here rather than in the app: when a key's cache entry expires,
                # every poll in flight misses it at once (on SQLite, inline, the first one
                # caches it again for the rest).
                if inline:
                    project_id = self.hark.keys.authenticate(authorization)
                else:
                    project_id = await run_in_threadpool(self.hark.keys.authenticate, authorization)
            if inline:
                status = service.status(project_id, transcription_id)
            else:
                status = await run_in_threadpool(service.status, project_id, transcription_id)
            if status is None:
                return False  # the app answers the 404 (and counts the request once)
            if self.hark.rate_limiter.per_minute:
                self.hark.rate_limiter.check(hash_key(authorization or ""))
        except ServiceError:  # a wrong key, a rate limit: the app says so in the usual way
            return False
        except Exception as exc:  # the app tries again and reports it in the usual way
            log.warning("status poll fast path: %s: %s", type(exc).__name__, exc)
            return False
        body = self._body(transcription_id, status)
        request_id = new_request_id()
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

    def _body(self, transcription_id: str, status: JobStatus) -> bytes:
        made = self._bodies.get(transcription_id)
        if (
            made is not None
            and made[0] is status.row
            and made[1] == status.queue_position
            and made[2] == status.eta_seconds
        ):
            return made[3]
        body = orjson.dumps(transcription_fields(status.row, status), option=orjson.OPT_UTC_Z)
        if len(self._bodies) >= _BODIES_LIMIT:
            self._bodies.clear()
        self._bodies[transcription_id] = (
            status.row,
            status.queue_position,
            status.eta_seconds,
            body,
        )
        return body


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None

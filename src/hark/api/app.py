"""The FastAPI application: routes under /v1 (and at the root, for base URLs without it)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send

from hark import __version__
from hark.service import Hark, ServiceError

from .console import STATIC as CONSOLE_STATIC
from .console import page_router as console_page_router
from .console import router as console_router
from .errors import install_error_handlers
from .invox import router as invox_router
from .middleware import RequestContext
from .openai import router as openai_router
from .realtime import router as realtime_router
from .soniox import router
from .status import StatusPoll

GRPC_GRACE_SECONDS = 5.0


class HarkAPI(FastAPI):
    """FastAPI, with status polls answered ahead of its middleware and routing (see
    api/status.py): they are most of a busy server's requests."""

    status_poll: StatusPoll | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.status_poll is not None and await self.status_poll.respond(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(hark: Hark, manage_lifecycle: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await run_in_threadpool(hark.start)
        grpc_server = None
        try:
            if hark.settings.grpc_port:
                # Once the use cases run (jobs can be dispatched), before requests are taken.
                from .grpc.server import start_server

                settings = hark.settings
                tls = (settings.ssl_certfile, settings.ssl_keyfile)
                grpc_server = start_server(
                    hark, settings.host, settings.grpc_port, tls if all(tls) else None
                )
            # Everything loaded at start-up lives for the whole process: keep it out of the
            # cyclic collector, whose full passes otherwise stall requests for tens of ms.
            gc.collect()
            gc.freeze()
            yield
        finally:
            if grpc_server is not None:
                # In-flight calls get a moment to finish; stop() returns an Event to wait on.
                await run_in_threadpool(grpc_server.stop(GRPC_GRACE_SECONDS).wait)
            if manage_lifecycle:
                await run_in_threadpool(hark.stop)

    app = HarkAPI(
        title="Hark",
        version=__version__,
        description="Self-hosted asynchronous speech-to-text, compatible with the Soniox REST "
        "API v1 (authenticate with `Authorization: Bearer <api key>`) and, under /api, with "
        "the Invox Medical asynchronous transcription API.",
        lifespan=lifespan,
    )
    app.state.hark = hark
    app.status_poll = StatusPoll(hark)
    app.include_router(router, prefix="/v1")
    app.include_router(router, include_in_schema=False)
    app.include_router(openai_router, prefix="/v1")
    app.include_router(openai_router, include_in_schema=False)
    app.include_router(console_router, prefix="/v1")
    app.include_router(console_router, include_in_schema=False)
    # The web console: its page at /, its assets under /console/ (see docs/console.md).
    app.include_router(console_page_router)
    app.mount("/console", StaticFiles(directory=CONSOLE_STATIC), name="console")
    app.include_router(realtime_router)
    app.include_router(invox_router)
    install_error_handlers(app)
    _document_links(app)

    def body_limit(scope: Scope) -> int | None:
        if scope["method"] == "POST" and scope["path"].rstrip("/").removeprefix("/v1") in (
            "/files",
            "/audio/transcriptions",
            "/audio/translations",
        ):
            return None  # the upload routes count the file themselves, against max_file_size
        if scope["method"] == "PUT":
            return None  # so do the pre-signed upload routes (the only PUT routes)
        return hark.settings.max_json_body

    app.add_middleware(RequestContext, body_limit=body_limit)
    hark.metrics.watch_database(hark.store)

    # Operational endpoints, unauthenticated like any load balancer's or Prometheus's
    # targets: keep them off the public internet.
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        """Readiness: the database, the storage and the queue are reachable, and the
        engine process (where this process runs one) has not failed to load. What a failing
        check ran into (host names, paths) is shown only to a caller with a valid key."""
        checks = hark.readiness()
        engine = hark.engine_status()
        engine_failed = engine is not None and str(engine["status"]).startswith("error")
        ready = all(result == "ok" for result in checks.values()) and not engine_failed
        # The key is looked up only when there is something to hide, and once.
        if not ready and not _authenticated(authorization):
            checks = {name: "ok" if result == "ok" else "error" for name, result in checks.items()}
            engine = {"status": "error"} if engine_failed else engine
        body: dict[str, object] = {"checks": checks}
        if engine is not None:
            body["engine"] = engine
        body = {"status": "ready" if ready else "unavailable", **body}
        return JSONResponse(body, status_code=200 if ready else 503)

    def _authenticated(authorization: str | None) -> bool:
        try:
            hark.keys.authenticate(authorization)
        except ServiceError:
            return False
        return True

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(hark.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


# OpenAPI links: the id a create returns is what the routes on that resource take, so
# clients and tools (schemathesis's stateful phase) can follow one from the other; and an
# example of each create's body that succeeds on any server.
_ID = "$response.body#/id"
_FILE = "/v1/files/{file_id}"
_JOB = "/v1/transcriptions/{transcription_id}"
_MODEL = "stt-async-v5"
_ON_JOB = {"transcription_id": _ID}
_FIRST_MODEL = "$response.body#/data/0/id"  # OpenAI's list, which /v1/models/{id} serves
# (path, method, status) -> link name -> (target path, method, parameters, request body)
_LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict, dict | None]]] = {
    ("/v1/files", "post", "201"): {
        "GetFile": (_FILE, "get", {"file_id": _ID}, None),
        "GetFileAudio": (_FILE + "/audio", "get", {"file_id": _ID}, None),
        "DeleteFile": (_FILE, "delete", {"file_id": _ID}, None),
        "TranscribeFile": ("/v1/transcriptions", "post", {}, {"model": _MODEL, "file_id": _ID}),
    },
    ("/v1/uploads/{file_id}", "put", "201"): {
        "GetFile": (_FILE, "get", {"file_id": _ID}, None),
        "TranscribeFile": ("/v1/transcriptions", "post", {}, {"model": _MODEL, "file_id": _ID}),
    },
    ("/v1/transcriptions", "post", "201"): {
        "GetTranscription": (_JOB, "get", _ON_JOB, None),
        "DeleteTranscription": (_JOB, "delete", _ON_JOB, None),
        "CancelTranscription": (_JOB + "/cancel", "post", _ON_JOB, None),
        "GetTranscript": (_JOB + "/transcript", "get", _ON_JOB, None),
        "EditTranscript": (_JOB + "/transcript", "patch", _ON_JOB, None),
        "GetTranscriptEdits": (_JOB + "/transcript/edits", "get", _ON_JOB, None),
        "ExportTranscript": (_JOB + "/export", "get", _ON_JOB, None),
    },
    ("/v1/models", "get", "200"): {
        "GetModel": ("/v1/models/{model_id}", "get", {"model_id": _FIRST_MODEL}, None),
    },
    ("/api/v1/generate-presigned-url", "post", "200"): {
        "GetTranscription": (
            "/api/v1/get-transcription",
            "post",
            {},
            {"requestId": "$response.body#/requestId"},
        ),
    },
}
# A 44-byte WAV header and 16 samples of silence: a tiny real audio file that is also text,
# as an example in a JSON document must be (11,025 Hz keeps every header byte below 0x80).
_TINY_WAV = (
    b"RIFF" + (36 + 32).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (11025).to_bytes(4, "little")
    + (22050).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    + b"data" + (32).to_bytes(4, "little") + bytes(32)
).decode("ascii")  # fmt: skip
_EXAMPLES: dict[tuple[str, str, str], dict] = {
    ("/v1/files", "post", "multipart/form-data"): {
        "file": _TINY_WAV,
        "client_reference_id": "example-1",
    },
    ("/v1/transcriptions", "post", "application/json"): {
        "model": _MODEL,
        "audio_url": "https://media.example.com/visit-0412.wav",
        "client_reference_id": "visit-0412",
    },
    ("/v1/files/upload-url", "post", "application/json"): {"filename": "visit-0412.wav"},
    ("/v1/auth/temporary-api-key", "post", "application/json"): {
        "usage_type": "transcribe_websocket",
        "expires_in_seconds": 60,
    },
    ("/api/v1/generate-presigned-url", "post", "application/json"): {"mimeType": "audio/wav"},
}


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("/", "~1") + "/" + method


def _document_links(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            paths = schema["paths"]
            for (path, method, status), links in _LINKS.items():
                documented = {}
                for name, (target, target_method, parameters, body) in links.items():
                    link: dict = {"operationRef": _ref(target, target_method)}
                    if parameters:
                        link["parameters"] = parameters
                    if body is not None:
                        link["requestBody"] = body
                    documented[name] = link
                paths[path][method]["responses"][status]["links"] = documented
            for (path, method, media_type), example in _EXAMPLES.items():
                paths[path][method]["requestBody"]["content"][media_type]["example"] = example
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

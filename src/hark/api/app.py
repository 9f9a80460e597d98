"""The FastAPI application: routes under /v1 (and at the root, for base URLs without it)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Scope

from hark import __version__
from hark.service import Hark

from .console import STATIC as CONSOLE_STATIC
from .console import page_router as console_page_router
from .console import router as console_router
from .errors import install_error_handlers
from .invox import router as invox_router
from .middleware import RequestContext
from .realtime import router as realtime_router
from .routes import router

GRPC_GRACE_SECONDS = 5.0


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
                grpc_server = start_server(hark, settings.host, settings.grpc_port)
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

    app = FastAPI(
        title="Hark",
        version=__version__,
        description="Self-hosted asynchronous speech-to-text, compatible with the Soniox REST "
        "API v1 (authenticate with `Authorization: Bearer <api key>`) and, under /api, with "
        "the Invox Medical asynchronous transcription API.",
        lifespan=lifespan,
    )
    app.state.hark = hark
    app.include_router(router, prefix="/v1")
    app.include_router(router, include_in_schema=False)
    app.include_router(console_router, prefix="/v1")
    app.include_router(console_router, include_in_schema=False)
    # The web console: its page at /, its assets under /console/ (see docs/console.md).
    app.include_router(console_page_router)
    app.mount("/console", StaticFiles(directory=CONSOLE_STATIC), name="console")
    app.include_router(realtime_router)
    app.include_router(invox_router)
    install_error_handlers(app)

    def body_limit(scope: Scope) -> int | None:
        if scope["method"] == "POST" and scope["path"].rstrip("/") in ("/v1/files", "/files"):
            return None  # the upload route counts the file itself, against max_file_size
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
    def readyz() -> JSONResponse:
        """Readiness: the database, the storage and the queue are reachable."""
        checks = hark.readiness()
        ready = all(result == "ok" for result in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(hark.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app

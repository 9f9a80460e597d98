"""The FastAPI application: routes under /v1 (and at the root, for base URLs without it)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import Scope

from hark import __version__
from hark.service import Hark

from .errors import install_error_handlers
from .middleware import RequestContext
from .realtime import router as realtime_router
from .routes import router


def create_app(hark: Hark, manage_lifecycle: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await run_in_threadpool(hark.start)
        # Everything loaded at start-up lives for the whole process: keep it out of the
        # cyclic collector, whose full passes otherwise stall requests for tens of ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if manage_lifecycle:
                await run_in_threadpool(hark.stop)

    app = FastAPI(
        title="Hark",
        version=__version__,
        description="Self-hosted asynchronous speech-to-text, compatible with the Soniox REST "
        "API v1. Authenticate with `Authorization: Bearer <api key>`.",
        lifespan=lifespan,
    )
    app.state.hark = hark
    app.include_router(router, prefix="/v1")
    app.include_router(router, include_in_schema=False)
    app.include_router(realtime_router)
    install_error_handlers(app)

    def body_limit(scope: Scope) -> int | None:
        if scope["method"] == "POST" and scope["path"].rstrip("/") in ("/v1/files", "/files"):
            return None  # the upload route counts the file itself, against max_file_size
        return hark.settings.max_json_body

    app.add_middleware(RequestContext, body_limit=body_limit)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    return app

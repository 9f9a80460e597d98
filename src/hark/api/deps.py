"""Request-scoped dependencies: the Hark instance and the caller's project."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from hark.service import Hark
from hark.service.auth import bearer_key_prefix, hash_key


# Both are `async` so that FastAPI runs them on the event loop instead of spending a
# thread-pool hop on each: status polls are the hottest path of the service.
async def get_hark(request: Request) -> Hark:
    return request.app.state.hark


async def get_project(
    hark: Annotated[Hark, Depends(get_hark)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    project_id = hark.keys.cached_project(authorization)
    if project_id is None:
        project_id = await run_in_threadpool(hark.keys.authenticate, authorization)
    # Keyed by the key's hash (a valid key, so one bucket per key; no key kept in memory).
    hark.rate_limiter.check(hash_key(authorization or ""))
    return project_id


HarkDep = Annotated[Hark, Depends(get_hark)]
ProjectDep = Annotated[str, Depends(get_project)]


def caller_key(request: Request) -> str | None:
    """What `hark keys list` shows of the key this request came with (for the audit log)."""
    return bearer_key_prefix(request.headers.get("authorization"))

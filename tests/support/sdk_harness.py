"""Drive `hark.client.Client` and `AsyncClient` through one test body.

`Resolved(client, loop)` exposes the client's namespaces with every call resolved: awaitables
are run on `loop`, async iterators become lazy sync iterators (one page fetched at a time,
exactly as the async client fetches them). With `loop=None` (the sync client) calls pass
through untouched.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

from hark.client import _api

# The namespace classes, sync and async: their methods are resolved call by call.
NAMESPACES = tuple(
    cls for name, cls in vars(_api).items() if name.endswith("API") and isinstance(cls, type)
)


def _lazy(ait: Any, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    while True:
        try:
            yield loop.run_until_complete(ait.__anext__())
        except StopAsyncIteration:
            return


class Resolved:
    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self._target = target
        self._loop = loop

    @property
    def raw(self) -> Any:
        return self._target

    def _resolve(self, value: Any) -> Any:
        if self._loop is None:
            return value
        if inspect.isawaitable(value):
            return self._loop.run_until_complete(value)
        if hasattr(value, "__anext__"):
            return _lazy(value, self._loop)
        return value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, NAMESPACES):
            return Resolved(value, self._loop)
        if callable(value) and not isinstance(value, type):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._resolve(value(*args, **kwargs))

            return call
        return value


def open_client(kind: str, **kwargs: Any) -> tuple[Resolved, Any]:
    """(resolved client, closer) for kind "sync" or "async"."""
    from hark.client import AsyncClient, Client

    if kind == "sync":
        client = Client(**kwargs)
        return Resolved(client, None), client.close

    loop = asyncio.new_event_loop()
    aclient = AsyncClient(**kwargs)

    def close() -> None:
        loop.run_until_complete(aclient.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    return Resolved(aclient, loop), close

"""`Client` and `AsyncClient`: configuration plus the two thin I/O shells over the plans."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import cached_property
from types import TracebackType
from typing import Any, cast

import httpx

from . import _plans as plans
from ._api import (
    AsyncAuthAPI,
    AsyncFilesAPI,
    AsyncModelsAPI,
    AsyncSttAPI,
    AuthAPI,
    FilesAPI,
    ModelsAPI,
    SttAPI,
)
from ._core import Emit, Plan, Request, RetryPolicy, Sleep, Stepper, T
from .errors import HarkValidationError
from .realtime import RealtimeAPI
from .webhooks import DEFAULT_TOLERANCE_SEC, WebhooksAPI

DEFAULT_API_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_TIMEOUT_SEC = 30.0
API_KEY_ENV = "HARK_API_KEY"
API_BASE_URL_ENV = "HARK_API_BASE_URL"


def _websocket_url(api_base_url: str) -> str:
    """Hark's realtime endpoint on the API's host: http(s)://h/v1 -> ws(s)://h/transcribe-websocket"""
    url = httpx.URL(api_base_url)
    return str(
        url.copy_with(scheme="wss" if url.scheme == "https" else "ws", path="/transcribe-websocket")
    )


class BaseClient:
    """Configuration and namespaces shared by `Client` and `AsyncClient`."""

    _http: httpx.Client | httpx.AsyncClient
    _http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_base_url: str | None = None,
        websocket_base_url: str | None = None,
        timeout_sec: float | None = None,
        webhook_secret: str | None = None,
        webhook_signature_header: str | None = None,
        webhook_signing_secret: str | None = None,
        webhook_tolerance_sec: float = DEFAULT_TOLERANCE_SEC,
        max_retries: int = 3,
        retry_backoff_sec: float = 0.5,
        client_kwargs: Mapping[str, Any] | None = None,
        **extra_client_kwargs: Any,
    ) -> None:
        api_key = api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise HarkValidationError(
                f"Please provide api_key (or set the {API_KEY_ENV} environment variable)"
            )
        if max_retries < 0:
            raise HarkValidationError("max_retries must be 0 or more")
        self.api_key = api_key
        self.api_base_url = (
            api_base_url or os.environ.get(API_BASE_URL_ENV) or DEFAULT_API_BASE_URL
        ).rstrip("/")
        self.websocket_base_url = websocket_base_url or _websocket_url(self.api_base_url)
        self.timeout_sec = DEFAULT_TIMEOUT_SEC if timeout_sec is None else timeout_sec
        self.webhook_secret = webhook_secret
        self.webhook_signature_header = webhook_signature_header
        self.webhook_signing_secret = webhook_signing_secret
        self.webhook_tolerance_sec = webhook_tolerance_sec
        self.retry_policy = RetryPolicy(max_retries=max_retries, backoff_sec=retry_backoff_sec)
        kwargs = {**(client_kwargs or {}), **extra_client_kwargs}
        headers = {**dict(kwargs.pop("headers", None) or {}), **self._auth_headers()}
        self._http = self._http_class(
            base_url=self.api_base_url + "/", headers=headers, timeout=self.timeout_sec, **kwargs
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_base_url={self.api_base_url!r})"

    @cached_property
    def realtime(self) -> RealtimeAPI:
        """Live recognition: `realtime.stt.connect(config=...)` (as the soniox SDK)."""
        return RealtimeAPI(self, asynchronous=isinstance(self._http, httpx.AsyncClient))

    @cached_property
    def webhooks(self) -> WebhooksAPI:
        """Verify and parse webhook deliveries (local; no requests)."""
        return WebhooksAPI(
            webhook_secret=self.webhook_secret,
            webhook_header=self.webhook_signature_header,
            signing_secret=self.webhook_signing_secret,
            tolerance_sec=self.webhook_tolerance_sec,
        )

    def _raw(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any | None,
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> Plan[httpx.Response]:
        return plans.raw(
            method, path, params=params, json=json, data=data, files=files, headers=headers
        )


class Client(BaseClient):
    """Synchronous Hark client.

    >>> with Client(api_key="hark_…", api_base_url="http://127.0.0.1:8000/v1") as client:
    ...     job = client.stt.transcribe_and_wait(file="meeting.mp3")
    ...     print(client.stt.get_transcript(job.id).text)

    `api_key` defaults to `HARK_API_KEY`, `api_base_url` to `HARK_API_BASE_URL` or
    `http://127.0.0.1:8000/v1`. `timeout_sec` is httpx's per-phase timeout (default 30 s).
    `client_kwargs` (or extra keyword arguments) go to `httpx.Client`, e.g. `transport=`,
    `verify=`, `headers=`. Failed connections, and 429/503 answers to GET/DELETE and to
    creates (which carry an `Idempotency-Key`), are retried up to `max_retries` times.
    """

    _http: httpx.Client
    _http_class = httpx.Client

    @cached_property
    def files(self) -> FilesAPI:
        """Upload, list, get and delete audio files."""
        return FilesAPI(self)

    @cached_property
    def stt(self) -> SttAPI:
        """Create, wait for, read and delete transcriptions (speech-to-text)."""
        return SttAPI(self)

    @cached_property
    def models(self) -> ModelsAPI:
        """List the available models."""
        return ModelsAPI(self)

    @cached_property
    def auth(self) -> AuthAPI:
        """Create temporary API keys."""
        return AuthAPI(self)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send any request to the API (path relative to the base URL) and return the raw
        `httpx.Response`, error statuses included. GET/PUT/DELETE are retried like the rest."""
        return self._run(self._raw(method, path, params, json, data, files, headers))

    def _perform(self, effect: Request | Sleep) -> Any:
        if isinstance(effect, Sleep):
            return time.sleep(effect.seconds)
        try:
            return self._http.send(effect.build(self._http))
        except httpx.TransportError as exc:
            return exc

    def _iterate(self, plan: Plan[Any]) -> Iterator[Any]:
        return self._drive(Stepper(plan, self.retry_policy))

    def _run(self, plan: Plan[T]) -> T:
        stepper = Stepper(plan, self.retry_policy)
        for _ in self._drive(stepper):
            pass
        return cast(T, stepper.value)

    def _drive(self, stepper: Stepper) -> Iterator[Any]:
        try:
            while (effect := stepper.step()) is not None:
                if isinstance(effect, Emit):
                    yield effect.item
                else:
                    stepper.outcome = self._perform(effect)
        finally:
            stepper.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(BaseClient):
    """Asynchronous Hark client: the same namespaces and methods as `Client`, awaited.

    >>> async with AsyncClient() as client:
    ...     job = await client.stt.transcribe_and_wait(file="meeting.mp3")
    ...     async for file in client.files.list_all():
    ...         print(file.filename)

    Configuration as for `Client`; `client_kwargs` go to `httpx.AsyncClient`.
    """

    _http: httpx.AsyncClient
    _http_class = httpx.AsyncClient

    @cached_property
    def files(self) -> AsyncFilesAPI:
        """Upload, list, get and delete audio files."""
        return AsyncFilesAPI(self)

    @cached_property
    def stt(self) -> AsyncSttAPI:
        """Create, wait for, read and delete transcriptions (speech-to-text)."""
        return AsyncSttAPI(self)

    @cached_property
    def models(self) -> AsyncModelsAPI:
        """List the available models."""
        return AsyncModelsAPI(self)

    @cached_property
    def auth(self) -> AsyncAuthAPI:
        """Create temporary API keys."""
        return AsyncAuthAPI(self)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send any request to the API (path relative to the base URL) and return the raw
        `httpx.Response`, error statuses included. GET/PUT/DELETE are retried like the rest."""
        return await self._run(self._raw(method, path, params, json, data, files, headers))

    async def _perform(self, effect: Request | Sleep) -> Any:
        if isinstance(effect, Sleep):
            return await asyncio.sleep(effect.seconds)
        try:
            return await self._http.send(effect.build(self._http))
        except httpx.TransportError as exc:
            return exc

    def _iterate(self, plan: Plan[Any]) -> AsyncIterator[Any]:
        return self._drive(Stepper(plan, self.retry_policy))

    async def _run(self, plan: Plan[T]) -> T:
        stepper = Stepper(plan, self.retry_policy)
        async for _ in self._drive(stepper):
            pass
        return cast(T, stepper.value)

    async def _drive(self, stepper: Stepper) -> AsyncIterator[Any]:
        try:
            while (effect := stepper.step()) is not None:
                if isinstance(effect, Emit):
                    yield effect.item
                else:
                    stepper.outcome = await self._perform(effect)
        finally:
            stepper.close()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

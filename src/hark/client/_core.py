"""The sans-IO core of the client: every operation is a *plan*, written once.

A plan is a generator. It yields effects and is sent their outcomes:

- `Request`  -> the `httpx.Response` (or the `httpx.TransportError` the attempt failed with)
- `Sleep`    -> None
- `Emit`     -> None (an item for the caller of a lazy iterator such as `list_all`)

and finally returns its result (or raises a `HarkError`). Plans compose with `yield from`, so
multi-step helpers (`transcribe_and_wait`, `destroy`, `delete_all`, `wait`) are plans too.
`Client` and `AsyncClient` only perform the effects: with `httpx.Client` and `time.sleep`, or
with `httpx.AsyncClient` and `asyncio.sleep`. Retries, backoff and idempotency keys are
applied here, by `Stepper`, around every `Request` a plan makes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, TypeVar, cast

import httpx
from pydantic import BaseModel, ValidationError

from .errors import HarkAPIError, HarkConnectionError, HarkValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass
class Request:
    """One HTTP request, described as data. `retry` says whether it may be sent again.
    `content` is a raw body (bytes, or a binary stream sent as it is read); a request that
    is not `authenticated` goes without the client's API key (e.g. to a pre-signed URL)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, BinaryIO]] | None = None
    headers: Mapping[str, str] | None = None
    retry: bool = False
    content: bytes | BinaryIO | None = None
    authenticated: bool = True

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        content: Any = self.content
        if isinstance(http, httpx.AsyncClient) and hasattr(content, "read"):
            content = _chunks(content)
        request = http.build_request(
            self.method,
            self.path,
            params=self.params,
            json=self.json,
            data=self.data,
            files=self.files,
            content=content,
            headers=self.headers,
        )
        if not self.authenticated:
            request.headers.pop("Authorization", None)
        return request

    def _streams(self) -> list[BinaryIO]:
        streams = [stream for _, stream in (self.files or {}).values()]
        if hasattr(self.content, "read"):
            streams.append(self.content)  # type: ignore[arg-type]
        return streams

    def rewind(self) -> bool:
        """Put upload streams back at their start; False if one cannot be rewound."""
        for stream in self._streams():
            try:
                if not stream.seekable():
                    return False
                stream.seek(0)
            except (AttributeError, OSError, ValueError):
                return False
        return True


async def _chunks(stream: BinaryIO, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A binary stream as the async iterator httpx.AsyncClient sends."""
    while chunk := stream.read(size):
        yield chunk


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    item: Any


Effect = Request | Sleep | Emit
Plan = Generator[Effect, Any, T]


# -- retries -----------------------------------------------------------------------------------

RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Automatic retries: up to `max_retries` more attempts, with exponential backoff and full
    jitter (`backoff_sec` * 2^n, at most `max_backoff_sec`), honouring `Retry-After`.

    Connection failures are retried for every request whose body did not reach the server;
    other transport errors and 429/503 answers for GET/DELETE and for creates that carry an
    Idempotency-Key."""

    max_retries: int = 3
    backoff_sec: float = 0.5
    max_backoff_sec: float = 8.0
    jitter: Callable[[float], float] = field(default=lambda cap: random.uniform(0, cap))

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        cap = min(self.max_backoff_sec, self.backoff_sec * 2 ** (attempt - 1))
        delay = self.jitter(cap)
        after = retry_after(response) if response is not None else None
        if after is not None:
            delay = max(delay, min(after, 60.0))
        return delay

    def should_retry(self, request: Request, outcome: httpx.Response | Exception) -> bool:
        if isinstance(outcome, httpx.Response):
            return request.retry and outcome.status_code in RETRY_STATUSES
        if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True  # nothing was sent
        return request.retry and isinstance(outcome, httpx.TransportError)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def send(request: Request, policy: RetryPolicy) -> Plan[httpx.Response]:
    """Send one request, retrying as `policy` allows; returns the last response."""
    attempt = 0
    while True:
        outcome = yield request
        if attempt >= policy.max_retries or not policy.should_retry(request, outcome):
            break
        if not request.rewind():
            break
        attempt += 1
        yield Sleep(policy.delay(attempt, outcome if isinstance(outcome, httpx.Response) else None))
    if isinstance(outcome, Exception):
        raise HarkConnectionError(
            f"{request.method} {request.path} failed after {attempt + 1} attempt(s): "
            f"{type(outcome).__name__}: {outcome}"
        ) from outcome
    return cast(httpx.Response, outcome)


class Stepper:
    """Runs a plan for a client shell: `step()` gives the next effect to perform (requests
    already wrapped in retries), `outcome` is what the shell reports back, and `done`/`value`
    tell when and with what the plan finished. Emit effects are only passed through."""

    def __init__(self, plan: Plan[Any], policy: RetryPolicy) -> None:
        self._plan = plan
        self._policy = policy
        self._inner: Plan[httpx.Response] | None = None
        self.outcome: Any = None
        self.done = False
        self.value: Any = None

    def step(self) -> Request | Sleep | Emit | None:
        """The next effect to perform, or None when the plan has finished."""
        outcome, self.outcome = self.outcome, None
        error: Exception | None = None
        while True:
            if self._inner is not None:
                try:
                    return self._inner.send(outcome)
                except StopIteration as stop:
                    outcome = stop.value
                except Exception as exc:
                    error = exc  # raised in the plan, where it made the request
                self._inner = None
            try:
                effect = self._plan.throw(error) if error else self._plan.send(outcome)
            except StopIteration as stop:
                self.done, self.value = True, stop.value
                return None
            error = None
            if not isinstance(effect, Request):
                return effect
            self._inner, outcome = send(effect, self._policy), None

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        self._plan.close()


# -- request building and response parsing -----------------------------------------------------


def validated(schema: type[M], /, **values: Any) -> M:
    """Build a request model, turning pydantic errors into HarkValidationError."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise HarkValidationError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise HarkAPIError.from_response(response)
    return response


def parsed(response: httpx.Response, model: type[M]) -> M:
    return model.model_validate_json(checked(response).content)


def call(request: Request, model: type[M]) -> Plan[M]:
    """A one-request plan whose successful JSON body becomes `model`."""
    response = yield request
    return parsed(response, model)


def call_no_content(request: Request) -> Plan[None]:
    checked((yield request))


def idempotency_headers(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}

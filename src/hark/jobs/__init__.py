"""Job dispatch and execution, and the other background work: webhook delivery and
periodic sweeps. Embedded: threads inside `hark serve`; scaled out: Celery workers
(`hark worker`) fed through Redis (see celery_queue.py)."""

from typing import Protocol

from .fetch import FetchLimits, filename_from_url
from .local import InProcessDispatcher, NoDispatcher, Threads
from .net import AddressPolicy, ForbiddenAddress, check_url
from .periodic import Periodic
from .runner import (
    JobRunner,
    LeaseLost,
    RunnerConfig,
    SessionRequest,
    address_policy,
    engine_config,
    engine_options,
    engine_process,
    job_concurrency,
    translation_pairs,
)
from .sweeper import JobSweeper
from .webhooks import WebhookPolicy, WebhookSender, sign


class Dispatcher(Protocol):
    """Carries job ids to whatever runs jobs. The database stays the source of truth."""

    def start(self) -> None: ...
    def dispatch(self, transcription_id: str) -> None:
        """Send one job id; raises if the queue cannot take it."""
        ...

    def check(self) -> None:
        """Raise unless the queue is reachable (for /readyz)."""
        ...

    def lost_messages(self) -> bool:
        """True once after the queue lost what it held (a broker restarted empty)."""
        ...

    def stop(self, timeout: float = 5.0) -> None: ...


__all__ = [
    "AddressPolicy",
    "Dispatcher",
    "FetchLimits",
    "ForbiddenAddress",
    "InProcessDispatcher",
    "JobRunner",
    "JobSweeper",
    "LeaseLost",
    "NoDispatcher",
    "Periodic",
    "RunnerConfig",
    "SessionRequest",
    "Threads",
    "WebhookPolicy",
    "WebhookSender",
    "address_policy",
    "check_url",
    "engine_config",
    "engine_options",
    "engine_process",
    "filename_from_url",
    "job_concurrency",
    "sign",
    "translation_pairs",
]

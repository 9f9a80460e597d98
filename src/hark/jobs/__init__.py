"""Job dispatch and execution, and the other background work: webhook delivery and
periodic sweeps. Embedded: threads inside `hark serve`."""

from typing import Protocol

from hark.engine import model_languages, primary_language

from .fetch import FetchLimits, filename_from_url
from .local import InProcessDispatcher, NoDispatcher
from .net import AddressPolicy, ForbiddenAddress, check_url
from .periodic import Periodic
from .runner import (
    JobRunner,
    RunnerConfig,
    address_policy,
    engine_config,
    engine_loader,
    engine_options,
)
from .webhooks import WebhookPolicy, WebhookSender, sign


class Dispatcher(Protocol):
    def start(self) -> None: ...
    def dispatch(self, transcription_id: str) -> None: ...
    def stop(self, timeout: float = 5.0) -> None: ...


__all__ = [
    "AddressPolicy",
    "Dispatcher",
    "FetchLimits",
    "ForbiddenAddress",
    "InProcessDispatcher",
    "JobRunner",
    "NoDispatcher",
    "Periodic",
    "RunnerConfig",
    "WebhookPolicy",
    "WebhookSender",
    "address_policy",
    "check_url",
    "engine_config",
    "engine_loader",
    "engine_options",
    "filename_from_url",
    "model_languages",
    "primary_language",
    "sign",
]

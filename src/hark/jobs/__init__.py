"""Job dispatch and execution. Embedded: an in-process thread pool."""

from typing import Protocol

from hark.engine import model_languages, primary_language

from .local import InProcessDispatcher, NoDispatcher
from .runner import JobRunner, engine_config, engine_loader, engine_options


class Dispatcher(Protocol):
    def start(self) -> None: ...
    def dispatch(self, transcription_id: str) -> None: ...
    def stop(self, timeout: float = 5.0) -> None: ...


__all__ = [
    "Dispatcher",
    "InProcessDispatcher",
    "JobRunner",
    "NoDispatcher",
    "engine_config",
    "engine_loader",
    "engine_options",
    "model_languages",
    "primary_language",
]

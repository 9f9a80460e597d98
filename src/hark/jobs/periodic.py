"""A daemon thread that runs a task every few seconds, or sooner when woken."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """`task` may return how many seconds until it has work again; the thread then sleeps
    that long if it is sooner than `interval`."""

    def __init__(self, name: str, interval: float, task: Callable[[], float | None]) -> None:
        self.name = name
        self.interval = interval
        self._task = task
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        last_failure: str | None = None
        while not self._stopping.is_set():
            self._wake.clear()
            wait = self.interval
            try:
                due_in = self._task()
                if due_in is not None:
                    wait = min(max(due_in, 0.0), self.interval)
            except Exception as exc:  # a failed round (database busy, ...) is retried next round
                failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if failure == last_failure:  # a database that is down: one traceback is enough
                    log.warning("%s failed again: %s", self.name, failure)
                else:
                    log.exception("%s failed", self.name)
                last_failure = failure
            else:
                last_failure = None
            self._wake.wait(wait)

"""The embedded dispatcher: a queue and a pool of worker threads inside `hark serve`."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_STOP = object()


class InProcessDispatcher:
    """Jobs are only ids here: the database is the source of truth, so losing this queue
    (a crash) loses nothing; `recover()` at start-up refills it."""

    def __init__(self, run: Callable[[str], None], workers: int, warm_up: Callable[[], object]):
        self._run = run
        self._warm_up = warm_up
        self._queue: queue.Queue = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"hark-worker-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def dispatch(self, transcription_id: str) -> None:
        self._queue.put(transcription_id)

    def check(self) -> None:
        pass  # the queue is in this process: reachable while the process is

    def lost_messages(self) -> bool:
        return False  # it lives as long as this process; `JobSweeper.recover` refills it

    def stop(self, timeout: float = 5.0) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        try:
            self._warm_up()  # load the model before the first job, not during it
        except Exception as exc:  # jobs will report the same error individually
            log.error("model failed to load: %s", exc)
        while (item := self._queue.get()) is not _STOP:
            try:
                self._run(item)
            except Exception:
                log.exception("worker failed on %s", item)


class NoDispatcher:
    """API-only processes: jobs stay queued in the database for workers elsewhere."""

    def start(self) -> None:
        pass

    def dispatch(self, transcription_id: str) -> None:
        pass

    def check(self) -> None:
        pass

    def lost_messages(self) -> bool:
        return False

    def stop(self, timeout: float = 5.0) -> None:
        pass

"""The embedded dispatcher: worker threads inside `hark serve`; and the threads of the
audio_url download stage, in any process that runs jobs."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

IDLE_RECHECK_SECONDS = 5.0


class Threads:
    """Threads that each call `run_next` until it finds nothing due, then sleep until woken
    (`wake`: work may be due) or for IDLE_RECHECK_SECONDS. Nothing is queued here: the
    database is the queue, so a crash loses nothing."""

    def __init__(
        self,
        run_next: Callable[[], bool],
        count: int,
        name: str,
        warm_up: Callable[[], object] | None = None,
    ) -> None:
        self._run_next = run_next
        self._warm_up = warm_up
        self._wake = threading.Condition()
        self._signals = 0  # wake-ups not yet seen by a thread
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Work may be due (a job was queued, or one finished and freed its slot): look."""
        with self._wake:
            self._signals += 1
            self._wake.notify()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        if self._warm_up is not None:
            try:
                self._warm_up()  # load the model before the first job, not during it
            except Exception as exc:  # jobs will report the same error individually
                log.error("model failed to load: %s", exc)
            # The model lives as long as the process: keep its objects out of the cyclic
            # collector's full passes, which would otherwise stall every request (status
            # polls above all) for hundreds of ms. (The API did the same for what it loaded.)
            gc.freeze()
        while not self._stopping:
            try:
                ran = self._run_next()
            except Exception:
                log.exception("%s failed to take a job", threading.current_thread().name)
                ran = False
            if ran:
                self.wake()  # a slot is free: another thread may take one
                continue
            with self._wake:
                # Nothing may start now: sleep until a job is queued or finishes (the
                # timeout is a backstop only).
                if not self._signals and not self._stopping:
                    self._wake.wait(IDLE_RECHECK_SECONDS)
                self._signals = max(self._signals - 1, 0)


class InProcessDispatcher(Threads):
    """Worker threads that take jobs from the database in fair order (`run_next`: projects
    take turns, within their in-flight caps). `dispatch` only wakes an idle thread."""

    def __init__(self, run_next: Callable[[], bool], workers: int, warm_up: Callable[[], object]):
        super().__init__(run_next, workers, "hark-worker", warm_up)

    def dispatch(self, transcription_id: str) -> None:
        self.wake()

    def check(self) -> None:
        pass  # the queue is in this process: reachable while the process is

    def lost_messages(self) -> bool:
        return False  # it lives as long as this process; `JobSweeper.recover` refills it


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

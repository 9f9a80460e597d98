"""Keeps jobs moving whatever happens to workers and to the queue.

The database is the source of truth; the queue only carries job ids. So a job is never lost
with a worker or a broker: a job whose lease ran out (its worker was killed or its machine
lost) goes back to `queued`, and a queued job the queue does not have (sending it failed,
the broker lost its messages, or it has waited suspiciously long) is sent again. Sending
twice is harmless: only one worker can claim a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hark.store import Store, utcnow

from .processes import is_gone

if TYPE_CHECKING:
    from . import Dispatcher

log = logging.getLogger(__name__)


class JobSweeper:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        max_attempts: int,
        redispatch_after: timedelta | None,
        on_failed: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.max_attempts = max_attempts
        # None: the dispatcher cannot lose a job while this process lives (in-process).
        self.redispatch_after = redispatch_after
        self.on_failed = on_failed  # some jobs were failed (their webhooks are due)

    def dispatch(self, transcription_id: str) -> None:
        """Send one new job; if the queue cannot take it, the next sweep sends it again."""
        self._send([transcription_id])

    def send_parked(self) -> None:
        """Send the queued jobs marked unsent (held back by their projects' caps, or the
        queue refused them) now rather than at the next sweep."""
        self._send_due(None)

    def recover(self) -> None:
        """At the start of an embedded server: re-queue the jobs left processing by crashed
        processes of this host (and those whose lease ran out), never one another live
        process holds; then send every queued job."""
        self._requeue(
            utcnow(),
            "re-queued %d jobs interrupted by a restart",
            lambda holder: is_gone(holder, including_self=True),
        )
        self._send_due(utcnow())

    def sweep(self) -> None:
        self._requeue(utcnow(), "re-queued %d jobs whose worker stopped renewing its lease")
        try:
            lost = self.dispatcher.lost_messages()
        except Exception as exc:  # jobs wait in the database until the queue is back
            log.warning("the queue is unreachable: %s: %s", type(exc).__name__, exc)
            return
        stale: datetime | None = None
        if lost:  # every queued job, whenever it was sent
            stale = utcnow()
        elif self.redispatch_after:
            stale = utcnow() - self.redispatch_after
        sent = self._send_due(stale)
        if lost and sent:
            log.warning(
                "the queue lost its messages (a new or restarted broker): sent %d queued "
                "jobs again",
                sent,
            )

    def _send_due(self, stale_before: datetime | None) -> int:
        """Send due jobs a batch at a time until none is left or the queue refuses one."""
        sent = 0
        while ids := self.store.take_for_dispatch(stale_before):
            sent += len(ids)
            if not self._send(ids):
                break
        return sent

    def _requeue(
        self,
        expired_before: datetime,
        message: str,
        holder_gone: Callable[[str | None], bool] | None = None,
    ) -> None:
        requeued, failed = self.store.requeue_abandoned(
            self.max_attempts, expired_before, holder_gone
        )
        if requeued:
            log.warning(message, requeued)
        if failed:
            log.error(
                "gave up on %d jobs that crashed the worker %d times", failed, self.max_attempts
            )
            self.on_failed()

    def _send(self, ids: list[str]) -> bool:
        """Whether the queue took every one; those it did not are left for the next sweep."""
        for index, transcription_id in enumerate(ids):
            try:
                self.dispatcher.dispatch(transcription_id)
            except Exception as exc:
                unsent = ids[index:]
                log.warning(
                    "the queue is unreachable (%s: %s); %d jobs will be sent again",
                    type(exc).__name__,
                    exc,
                    len(unsent),
                )
                self.store.mark_undispatched(unsent)
                return False
        return True

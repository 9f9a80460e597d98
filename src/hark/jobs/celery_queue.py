"""Scaled out: jobs travel as Celery tasks through Redis to `hark worker` processes.

A task carries only the job id; the job itself lives in the database, which stays the source
of truth. Delivery is at least once (`acks_late`; a task whose worker vanished comes back
after the visibility timeout), and a duplicate costs nothing: only one worker can claim a
job. Faster than that backstop, the job sweep (sweeper.py) re-queues jobs whose lease ran
out and re-sends jobs the broker lost.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from hark.settings import mask_url, require_extra

log = logging.getLogger(__name__)

TASK_NAME = "hark.transcribe"
QUEUE = "hark"
# Written into the broker's own database: when it is gone, so is everything the broker held
# (it restarted empty, or was flushed), and every queued job must be sent again.
EPOCH_KEY = "hark:queue-epoch"
SCHEMES = ("redis://", "rediss://")


def celery_app(queue_url: str, visibility_timeout: float) -> Any:
    celery = require_extra("celery", "A redis:// queue URL")
    app = celery.Celery("hark", broker=queue_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledge after the job ran, so a task whose worker died is delivered again;
        # a worker takes one task at a time, leaving the rest to idle workers.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "socket_timeout": 5,
            "socket_connect_timeout": 3,
        },
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives a broker restart
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


class CeleryDispatcher:
    def __init__(self, queue_url: str, visibility_timeout: float) -> None:
        if not queue_url.startswith(SCHEMES):
            raise ValueError(
                f"unsupported queue URL {mask_url(queue_url)!r} (supported: redis://, rediss://)"
            )
        self.app = celery_app(queue_url, visibility_timeout)
        redis = require_extra("redis", "A redis:// queue URL")
        self._redis = redis.Redis.from_url(queue_url, socket_timeout=3, socket_connect_timeout=3)

    def start(self) -> None:
        pass

    def dispatch(self, transcription_id: str) -> None:
        self.app.send_task(
            TASK_NAME,
            args=[transcription_id],
            queue=QUEUE,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.5, "interval_max": 1},
        )

    def check(self) -> None:
        self._redis.ping()

    def lost_messages(self) -> bool:
        return bool(self._redis.set(EPOCH_KEY, secrets.token_hex(8), nx=True))

    def stop(self, timeout: float = 5.0) -> None:
        self._redis.close()
        self.app.close()

    def run_worker(
        self, run: Callable[[str], None], concurrency: int, hostname: str, on_ready: Callable
    ) -> int:
        """Consume jobs until told to stop (SIGTERM or SIGINT: warm shutdown, finishing the
        jobs in hand); `run` is called with each job id, `concurrency` at a time."""
        from celery.signals import worker_ready
        from celery.worker import state
        from celery.worker.request import Request

        class AckUntilDone(Request):
            """Celery gives up on an acknowledgement the broker did not take (it was
            restarting, say) and never frees the task's prefetch slot: with one slot, the
            worker would take no task ever again. Retry until the broker takes it (after a
            restart, acknowledging a message it no longer has is harmless)."""

            def acknowledge(self) -> None:
                delay = 0.5
                while not self.acknowledged:
                    try:
                        self.message.ack()
                        self.acknowledged = True
                    except self.connection_errors as exc:
                        if state.should_stop is not None or state.should_terminate is not None:
                            raise
                        log.warning("could not acknowledge a task (%s); retrying", exc)
                        time.sleep(delay)
                        delay = min(delay * 2, 10.0)

        @self.app.task(name=TASK_NAME, bind=True, max_retries=None, Request=AckUntilDone)
        def transcribe(task, transcription_id: str) -> None:
            try:
                run(transcription_id)
            except Exception as exc:  # the database was unreachable, say: try again later
                log.warning("transcription %s: %s: %s", transcription_id, type(exc).__name__, exc)
                raise task.retry(countdown=min(60, 5 * 2**task.request.retries)) from exc

        worker_ready.connect(lambda **_: on_ready(), weak=False)
        worker = self.app.Worker(
            hostname=hostname,
            pool="threads",
            concurrency=concurrency,
            queues=[QUEUE],
            loglevel="INFO",
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            optimization="fair",
        )
        worker.start()
        return worker.exitcode or 0

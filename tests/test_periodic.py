"""The background loops (job sweeps, webhook delivery, retention): a failing round is
retried, and the same failure every round (a database that is down) is logged in full
once, then in one line a round, so an outage does not flood the log with tracebacks."""

from __future__ import annotations

import logging
import threading

from hark.jobs.periodic import Periodic


def test_a_repeated_failure_is_logged_in_full_once(caplog):
    rounds: list[int] = []
    done = threading.Event()

    def task() -> float:
        rounds.append(1)
        if len(rounds) <= 3:
            raise ConnectionError("the database is unavailable\nsecond line")
        if len(rounds) == 4:
            return 0.0  # a good round in between
        if len(rounds) == 5:
            raise ConnectionError("the database is unavailable")
        done.set()
        return 0.0

    loop = Periodic("test-loop", 0.01, task)
    with caplog.at_level(logging.WARNING, logger="hark.jobs.periodic"):
        loop.start()
        assert done.wait(10)
        loop.stop()
    records = [(r.levelname, r.exc_info is not None, r.getMessage()) for r in caplog.records]
    assert records == [
        ("ERROR", True, "test-loop failed"),
        ("WARNING", False, "test-loop failed again: ConnectionError: the database is unavailable"),
        ("WARNING", False, "test-loop failed again: ConnectionError: the database is unavailable"),
        ("ERROR", True, "test-loop failed"),  # after a good round, in full again
    ]

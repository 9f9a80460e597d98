"""The audit log: one JSON line per read of what a transcription holds (who, with which
key, what, when; never the content), to a file of the operator's choosing."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TextIO

from hark.store import utcnow


class AuditLog:
    """`destination`: a file path (appended to, created 0600), "-" for standard error, or
    None for no audit log."""

    def __init__(self, destination: str | None) -> None:
        self._lock = threading.Lock()
        self._out: TextIO | None = None
        if destination == "-":
            self._out = sys.stderr
        elif destination:
            fd = os.open(destination, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._out = os.fdopen(fd, "a", buffering=1)

    def record(self, action: str, project_id: str, resource_id: str, key: str | None, via: str):
        """`key`: what `hark keys list` shows of the key used (its prefix), never the key."""
        if self._out is None:
            return
        line = json.dumps(
            {
                "time": utcnow().isoformat(timespec="milliseconds"),
                "action": action,
                "project": project_id,
                "key": key,
                "resource": resource_id,
                "via": via,
            }
        )
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

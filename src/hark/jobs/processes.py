"""Which process holds a job lease or an upload: "<host>:<pid>", so that a process starting
on the same data can tell a crashed holder (same host, pid gone) from a live one."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_gone(holder: str | None, including_self: bool = False) -> bool:
    """Whether `holder` ("host:pid", maybe followed by "/token") is a process of this host
    that no longer runs. Processes of other hosts are never known to be gone (their leases
    run out instead); this very process counts as gone only with `including_self` (at
    start-up, before it has claimed anything, its pid can only be a predecessor's)."""
    host, _, rest = (holder or "").partition(":")
    pid = rest.split("/", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return including_self
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

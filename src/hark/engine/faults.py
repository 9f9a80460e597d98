"""Test-only fault injection (HARK_ENGINE_TEST_FAULTS=true): real native faults in the engine
process, so the tests of its supervision need no mocks.

A job whose prompt contains `hark-test-fault:<kind>@<stage>` faults when the engine process
enters that stage (decode, asr, diarize, translate). Kinds: sigill (a real illegal
instruction), sigsegv (a read of address 0), sigkill, hang. With the suffix `:once` it faults
only the first time a job with that prompt gets there (a marker file records it), so the
retry succeeds: a transient fault.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import platform
import re
import signal
import time
from pathlib import Path

_FAULT = re.compile(r"hark-test-fault:(sigill|sigsegv|sigkill|hang)@(\w+)(:once)?")


class FaultInjector:
    def __init__(self, markers: Path) -> None:
        self.markers = markers  # where `:once` faults record that they fired

    def at(self, stage: str, prompt: str | None) -> None:
        """Fault here if the prompt asks for a fault at this stage."""
        for kind, where, once in _FAULT.findall(prompt or ""):
            if where == stage and (not once or self._first_time(prompt or "")):
                _FAULTS[kind]()

    def _first_time(self, prompt: str) -> bool:
        self.markers.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(prompt.encode()).hexdigest()[:32]
        try:
            os.close(os.open(self.markers / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True


def illegal_instruction() -> None:
    """Execute `ud2` on x86-64 (what an AVX-512 instruction does on a CPU without it);
    elsewhere, or where no executable page can be mapped, raise SIGILL."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        try:
            prot = mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
            page = mmap.mmap(-1, mmap.PAGESIZE, prot=prot)
        except (OSError, ValueError):  # executable mappings are refused by hardened kernels
            page = None
        if page is not None:
            page.write(b"\x0f\x0b")  # ud2
            address = ctypes.addressof(ctypes.c_char.from_buffer(page))
            ctypes.CFUNCTYPE(None)(address)()
    os.kill(os.getpid(), signal.SIGILL)


def segmentation_fault() -> None:
    ctypes.string_at(0)


def killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hang() -> None:
    while True:
        time.sleep(3600)


_FAULTS = {
    "sigill": illegal_instruction,
    "sigsegv": segmentation_fault,
    "sigkill": killed,
    "hang": hang,
}

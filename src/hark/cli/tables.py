"""Tables and progress on the terminal (Rich), plain and parseable when piped."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table


def _console(stream: TextIO) -> Console:
    # Piped output is never wrapped, so each row stays one line for scripts.
    return Console(file=stream, width=None if stream.isatty() else 10_000, soft_wrap=True)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Aligned columns: a header line, then one line per row (the first column an id)."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*(str(value) for value in row))
    _console(sys.stdout).print(table)


class JobProgress:
    """One job's progress on stderr: a Rich bar on a terminal, else a line per 10 %, like
    `jfk.flac: [###---] 40% processing`."""

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.last: tuple[str, int] | None = None
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if stream.isatty():
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}% {task.fields[status]}"),
                console=Console(file=stream),
                transient=False,
            )
            self.task = self.bar.add_task(label, total=100, status="queued")
            self.bar.start()

    def __call__(self, job: Any) -> None:
        percent = round(100 * (job.progress or 0.0))
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=percent, status=job.status)
            if job.finished:
                self.bar.stop()
            return
        state = (job.status, percent // 10 * 10)
        if state == self.last:
            return
        self.last = state
        filled = self.WIDTH * percent // 100
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        print(f"{self.label}: [{bar}] {percent:3d}% {job.status}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

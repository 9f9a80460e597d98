"""`hark` command line: serve the API, run workers and administer keys and quotas (the server
half, `server.py`), or transcribe and manage files with a running server (the client half,
`client.py`, which imports nothing of the server: see the import-linter contracts)."""

from __future__ import annotations

import sys

import typer

from . import client, server

app = typer.Typer(
    name="hark",
    help="Hark, self-hosted speech-to-text. Run it (serve, worker, migrate, keys, limits) or "
    "use a running one (transcribe, files, jobs).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
server.register(app)
client.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (for `python -m hark.cli` and tests)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="hark", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    except typer.TyperException as exc:  # a usage error: the message, not a traceback
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


__all__ = ["app", "main"]

"""The client half of `hark`: `transcribe`, `files`, `jobs`, talking to a running server over
HTTP with `hark.client` only (an import-linter contract keeps server modules out)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from .tables import JobProgress, print_table

if TYPE_CHECKING:
    from hark.client import Client

ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (env HARK_API_KEY, else hark-data/api_key)"),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="API base URL (env HARK_API_BASE_URL, default http://127.0.0.1:8000/v1)"
    ),
]
Format = Literal["text", "json", "srt", "vtt"]


def _client(api_key: str | None, base_url: str | None) -> Client:
    from hark.client import API_KEY_ENV, Client

    api_key = api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        key_file = Path(os.environ.get("HARK_DATA_DIR", "hark-data")) / "api_key"
        if key_file.is_file():
            api_key = key_file.read_text().strip()
    return Client(api_key=api_key, api_base_url=base_url)


def _client_command(run: Callable[..., int]) -> Callable[..., int]:
    """A client command: HarkError, OSError and timeouts become one line and exit 1."""

    @functools.wraps(run)
    def command(*args: Any, **kwargs: Any) -> int:
        from hark.client import HarkError

        try:
            return run(*args, **kwargs)
        except (HarkError, OSError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return command


def _each(ids: list[str], action: Callable[[str], object], done: str) -> int:
    """`action` on each id in turn, printing `done ID` after each (the first failure stops)."""
    for item_id in ids:
        action(item_id)
        print(f"{done} {item_id}")
    return 0


class _JobFailed(Exception):
    pass


def _transcribe_one(
    client: Client,
    source: str,
    *,
    model: str,
    config: dict[str, Any],
    output_format: Format,
    timeout: float | None,
    keep: bool,
) -> str:
    is_url = source.startswith(("http://", "https://"))
    label = source if is_url else Path(source).name
    if not is_url and not Path(source).is_file():
        raise FileNotFoundError(f"No such file: {source}")
    job = client.stt.transcribe(
        model=model,
        audio_url=source if is_url else None,
        file=None if is_url else Path(source),
        config=config,
    )
    progress = JobProgress(label)
    try:
        job = client.stt.wait(job.id, interval_sec=2.0, timeout_sec=timeout, on_progress=progress)
        if job.status == "error":
            raise _JobFailed(f"transcription failed: {job.error_message} ({job.error_type})")
        transcript = client.stt.get_transcript(job.id)
    finally:
        progress.close()
        if not keep and job.finished:
            client.stt.destroy(job.id)
    if output_format == "json":
        return transcript.model_dump_json(indent=2, exclude_none=True) + "\n"
    from hark import subtitles

    return subtitles.render(transcript.tokens, output_format, transcript.speaker_names)


@_client_command
def transcribe(
    inputs: Annotated[list[str], typer.Argument(metavar="FILE_OR_URL...")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    model: Annotated[str, typer.Option(help="model id")] = "stt-async-v5",
    language: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CODE", help="language hint; repeat or separate with commas (e.g. en,de)"
        ),
    ] = None,
    diarize: Annotated[bool, typer.Option("--diarize", help="label speakers")] = False,
    separate_channels: Annotated[
        bool,
        typer.Option(
            "--separate-channels",
            help="transcribe each audio channel on its own (e.g. stereo calls)",
        ),
    ] = False,
    translate_to: Annotated[
        str | None, typer.Option(metavar="LANG", help="translate into LANG")
    ] = None,
    output_format: Annotated[Format, typer.Option("--format", help="output format")] = "text",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="output file (with several inputs: a directory, one per input)"
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="keep the uploaded file and transcription on the server"),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="give up waiting for a job after this many seconds")
    ] = None,
) -> int:
    """Transcribe audio files or URLs with a running server.

    Upload each file (or pass each http(s) URL as audio_url), wait for the transcription
    with a progress bar on stderr, and write the transcript."""
    from hark.client import HarkAPIError
    from hark.subtitles import EXTENSIONS

    languages = [code.strip() for value in language or [] for code in value.split(",")]
    translation = {"type": "one_way", "target_language": translate_to}
    # Checked by the client before anything is sent (a HarkValidationError: one error line).
    config = {
        "language_hints": [code for code in languages if code] or None,
        "enable_speaker_diarization": diarize or None,
        "enable_separate_recognition_per_channel": separate_channels or None,
        "translation": translation if translate_to else None,
    }
    many = len(inputs) > 1
    if many and output:
        output.mkdir(parents=True, exist_ok=True)
    failures = 0
    with _client(api_key, base_url) as client:
        for source in inputs:
            try:
                text = _transcribe_one(
                    client,
                    source,
                    model=model,
                    config=config,
                    output_format=output_format,
                    timeout=timeout,
                    keep=keep,
                )
            except (_JobFailed, HarkAPIError, OSError, TimeoutError) as exc:
                print(f"error: {source}: {exc}" if many else f"error: {exc}", file=sys.stderr)
                failures += 1
                continue
            if output is None:
                if many:
                    print(f"==> {source} <==")
                sys.stdout.write(text)
                sys.stdout.flush()
                continue
            target = output
            if many:
                stem = Path(source.split("?")[0].rstrip("/")).stem or "transcript"
                target = output / (stem + EXTENSIONS[output_format])
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}", file=sys.stderr)
    return 1 if failures else 0


files = typer.Typer(help="Upload, list or delete files.", no_args_is_help=True)


@files.command("upload")
@_client_command
def files_upload(
    paths: Annotated[list[Path], typer.Argument(metavar="FILE...")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    presigned: Annotated[
        bool,
        typer.Option(
            "--presigned",
            help="through a pre-signed upload URL (straight to S3 when the server uses it)",
        ),
    ] = False,
    client_reference_id: Annotated[str | None, typer.Option(metavar="ID")] = None,
) -> int:
    """Upload files; print each one's id, name and size."""
    with _client(api_key, base_url) as client:
        upload = client.files.upload_presigned if presigned else client.files.upload
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"No such file: {path}")
            file = upload(path, client_reference_id=client_reference_id)
            print(f"{file.id}  {file.filename}  {file.size}")
    return 0


@files.command("list")
@_client_command
def files_list(api_key: ApiKey = None, base_url: BaseUrl = None) -> int:
    """List files."""
    with _client(api_key, base_url) as client:
        rows = [
            (f.id, f.filename, f.size, f"{f.created_at:%Y-%m-%d %H:%M:%S}")
            for f in client.files.list_all()
        ]
    print_table(("ID", "FILENAME", "SIZE", "CREATED"), rows)
    return 0


@files.command("delete")
@_client_command
def files_delete(
    ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
) -> int:
    """Delete files by id."""
    with _client(api_key, base_url) as client:
        return _each(ids, client.files.delete, "deleted")


jobs = typer.Typer(help="List, show, cancel or delete transcriptions.", no_args_is_help=True)


@jobs.command("list")
@_client_command
def jobs_list(api_key: ApiKey = None, base_url: BaseUrl = None) -> int:
    """List transcriptions."""
    with _client(api_key, base_url) as client:
        rows = [
            (
                t.id,
                t.status,
                f"{round(100 * (t.progress or 0))}%",
                t.model,
                t.filename,
                f"{t.created_at:%Y-%m-%d %H:%M:%S}",
            )
            for t in client.stt.list_all()
        ]
    print_table(("ID", "STATUS", "PROGRESS", "MODEL", "FILENAME", "CREATED"), rows)
    return 0


@jobs.command("get")
@_client_command
def jobs_get(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
) -> int:
    """Show one transcription as JSON."""
    with _client(api_key, base_url) as client:
        print(client.stt.get(job_id).model_dump_json(indent=2))
    return 0


@jobs.command("cancel")
@_client_command
def jobs_cancel(
    ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
) -> int:
    """Cancel queued or processing transcriptions."""
    with _client(api_key, base_url) as client:
        return _each(ids, client.stt.cancel, "cancelled")


@jobs.command("delete")
@_client_command
def jobs_delete(
    ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
) -> int:
    """Delete transcriptions."""
    with _client(api_key, base_url) as client:
        return _each(ids, client.stt.delete, "deleted")


@_client_command
def stream(
    source: Annotated[str, typer.Argument(metavar="FILE|-")],
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    model: Annotated[str, typer.Option(help="realtime model id")] = "stt-rt-v5",
    audio_format: Annotated[
        str, typer.Option(help="auto (containers) or a raw layout: pcm_s16le...")
    ] = "auto",
    sample_rate: Annotated[int | None, typer.Option(help="raw audio: samples per second")] = None,
    num_channels: Annotated[
        int | None, typer.Option(help="raw audio: interleaved channels")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(metavar="CODE", help="language hint")
    ] = None,
    endpoints: Annotated[
        bool, typer.Option("--endpoints", help="end lines at speech pauses")
    ] = False,
    fast: Annotated[bool, typer.Option("--fast", help="send as fast as possible")] = False,
    output_format: Annotated[
        Literal["text", "jsonl"], typer.Option("--format", help="output format")
    ] = "text",
) -> int:
    """Transcribe a file or stdin live over the realtime WebSocket.

    Send FILE (or - for stdin: raw PCM or any container) at real-time pace and print the
    final text as it is committed; on a terminal the non-final tail is shown after it and
    updated in place."""
    from .stream import stream as run_stream

    with _client(api_key, base_url) as client:
        return run_stream(
            client,
            source,
            model=model,
            audio_format=audio_format,
            sample_rate=sample_rate,
            num_channels=num_channels,
            language=language,
            endpoints=endpoints,
            fast=fast,
            output_format=output_format,
        )


def register(app: typer.Typer) -> None:
    app.command()(transcribe)
    app.command()(stream)
    app.add_typer(files, name="files")
    app.add_typer(jobs, name="jobs")

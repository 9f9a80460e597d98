"""`hark` command line: serve the API, run workers, manage API keys, transcribe with a running
server."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path

log = logging.getLogger("hark")


def _settings(args: argparse.Namespace):
    from hark.settings import Settings

    overrides = {
        name: value
        for name in ("host", "port", "grpc_port", "data_dir", "workers")
        if (value := getattr(args, name, None)) is not None
    }
    return Settings(**overrides)


def _write_key_file(data_dir: Path, api_key: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "api_key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(api_key + "\n")
    os.chmod(path, 0o600)
    return path


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hark.api import create_app
    from hark.service import Hark

    settings = _settings(args)
    _logging()
    hark = Hark(settings, role="api" if args.no_worker else "serve")
    log.info("Hark: %s", hark.describe())
    if settings.queue_url:
        log.info("jobs go to the queue; `hark worker` processes run them")
    elif args.no_worker:
        log.warning(
            "--no-worker without HARK_QUEUE_URL: jobs wait in the database until a "
            "`hark serve` with workers starts"
        )
    hark.migrate()
    if settings.api_key:
        try:
            added = hark.keys.ensure(settings.api_key)
        except ValueError as exc:
            print(f"error: HARK_API_KEY: {exc}", file=sys.stderr)
            return 2
        if added:
            print("Added HARK_API_KEY to the default project.", flush=True)
    elif hark.store.count_active_api_keys() == 0:
        new = hark.keys.create(name="first key")
        path = _write_key_file(settings.data_dir, new.api_key)
        print(f"Created an API key for the default project (also saved in {path}):", flush=True)
        print(f"\n    {new.api_key}\n", flush=True)
    print(
        f"Hark listening on http://{settings.host}:{settings.port}/v1 "
        f"(docs at /docs; data in {settings.data_dir.resolve()})",
        flush=True,
    )
    if settings.grpc_port:
        print(
            f"Legacy Soniox gRPC API on {settings.host}:{settings.grpc_port} "
            f"(SONIOX_API_HOST=http://{settings.host}:{settings.grpc_port})",
            flush=True,
        )
    uvicorn.run(
        create_app(hark),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from hark.service import Hark

    settings = _settings(args)
    _logging()
    try:
        hark = Hark(settings, role="worker")
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("Hark worker: %s", hark.describe())
    hark.start()
    try:
        log.info("loading model %s", settings.model)
        hark.runner.engine()  # once, before the first job
        if settings.metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, settings.host, hark.metrics.registry)
            log.info("metrics on http://%s:%d/metrics", settings.host, settings.metrics_port)
        return hark.dispatcher.run_worker(  # type: ignore[attr-defined]
            hark.runner.run,
            concurrency=max(settings.workers, 1),
            hostname=f"hark-{os.getpid()}@{socket.gethostname()}",
            on_ready=lambda: log.info("hark worker ready: taking jobs from the queue"),
        )
    except Exception as exc:
        log.error("worker failed: %s: %s", type(exc).__name__, exc)
        return 1
    finally:
        hark.stop()


def cmd_migrate(args: argparse.Namespace) -> int:
    from hark.service import Hark

    hark = Hark(_settings(args), role="admin")
    hark.migrate()
    print("The database schema is up to date.")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from hark.service import Hark

    hark = Hark(_settings(args), role="admin")
    hark.migrate()
    if args.keys_command == "create" and args.invox:
        pair = hark.invox.create_credentials(args.project)
        if args.json:
            print(json.dumps({"app_id": pair.app_id, "api_key": pair.api_key}))
        else:
            print(f"app id:  {pair.app_id}\napi key: {pair.api_key}")
    elif args.keys_command == "create":
        new = hark.keys.create(project=args.project, name=args.name)
        print(json.dumps({"api_key": new.api_key}) if args.json else new.api_key)
    elif args.keys_command == "invox-secret":
        print(hark.store.invox_secret(args.project, args.set) or "")
    elif args.keys_command == "list":
        print(f"{'ID':36}  {'PREFIX':20}  {'PROJECT':16}  {'CREATED':20}  STATUS")
        rows = [(k.id, k.key_prefix + "…", p, k, "") for k, p in hark.store.list_api_keys()]
        rows += [(c.id, c.app_id, p, c, " (invox)") for c, p in hark.store.list_invox_credentials()]
        for key_id, prefix, project, key, kind in rows:
            status = ("revoked" if key.revoked_at else "active") + kind
            created = key.created_at.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{key_id:36}  {prefix:20}  {project:16}  {created:20}  {status}")
    elif args.keys_command == "revoke":
        matches = hark.store.revoke_api_key(args.key_id)
        if matches == 0:
            matches = hark.store.revoke_invox_credential(args.key_id)
        if matches != 1:
            reason = "No active key" if matches == 0 else f"{matches} active keys match"
            print(f"{reason} with id or prefix {args.key_id!r}; nothing revoked.", file=sys.stderr)
            return 1
        print("Revoked.")
    return 0


def cmd_limits(args: argparse.Namespace) -> int:
    from hark.service import Hark, Limits

    hark = Hark(_settings(args), role="admin")
    hark.migrate()
    changes = {name: value for name in Limits.names() if (value := getattr(args, name)) is not None}
    project = hark.store.ensure_project(args.project)
    overrides = {} if args.reset else dict(project.limits or {})
    if args.reset or changes:
        overrides.update(changes)
        hark.store.set_project_limits(args.project, overrides)
    for name, value in vars(hark.quotas.defaults.overridden(overrides)).items():
        source = "project" if name in overrides else "default"
        print(f"{name:28} {value!s:>14}  ({source})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hark", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_client_commands(sub)  # transcribe, files, jobs: defined below, client-side only

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="data directory (env HARK_DATA_DIR)")

    serve = sub.add_parser(
        "serve", parents=[common], help="run the API server with an in-process worker"
    )
    serve.add_argument("--host", help="bind address (env HARK_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env HARK_PORT, default 8000)")
    serve.add_argument(
        "--grpc-port",
        type=int,
        help="also serve the legacy Soniox gRPC API (soniox 1.x SDK) on this port "
        "(env HARK_GRPC_PORT, default 0: off)",
    )
    serve.add_argument("--workers", type=int, help="transcription workers (env HARK_WORKERS)")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the API only; jobs run in `hark worker` processes (HARK_QUEUE_URL)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        parents=[common],
        help="run a transcription worker taking jobs from the queue (HARK_QUEUE_URL)",
    )
    worker.add_argument(
        "--concurrency",
        dest="workers",
        type=int,
        help="jobs at once, sharing one loaded model (env HARK_WORKERS, default 1)",
    )
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser(
        "migrate", parents=[common], help="bring the database schema up to date and exit"
    )
    migrate.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser(
        "create", parents=[common], help="create a key and print it (shown only once)"
    )
    create.add_argument("--project", default="default", help="project the key belongs to")
    create.add_argument("--name", help="a label for the key")
    create.add_argument(
        "--invox",
        action="store_true",
        help="an Invox Medical API credential (app id + API key) instead of a Hark key",
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    secret = keys_sub.add_parser(
        "invox-secret",
        parents=[common],
        help="show (or --set) the secret a project's Invox callbacks are signed with",
    )
    secret.add_argument("--project", default="default")
    secret.add_argument("--set", metavar="SECRET", help="replace it with SECRET")
    keys_sub.add_parser("list", parents=[common], help="list keys (prefixes only)")
    revoke = keys_sub.add_parser(
        "revoke", parents=[common], help="revoke a key by id or prefix, or an Invox app id"
    )
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

    limits = sub.add_parser(
        "limits",
        parents=[common],
        help="show or set a project's quotas (defaults come from HARK_MAX_* settings)",
    )
    limits.add_argument("--project", default="default")
    limits.add_argument("--reset", action="store_true", help="back to the server defaults")
    for name in ("max_file_size", "max_storage_bytes", "max_files", "max_transcriptions"):
        limits.add_argument("--" + name.replace("_", "-"), dest=name, type=int)
    limits.add_argument("--max-pending-transcriptions", dest="max_pending_transcriptions", type=int)
    limits.add_argument(
        "--max-audio-duration-seconds", dest="max_audio_duration_seconds", type=float
    )
    limits.set_defaults(func=cmd_limits)
    return parser


# -- client commands: talk to a running server over HTTP with hark.client only ----------------


def _client(args: argparse.Namespace):
    from hark.client import API_KEY_ENV, Client

    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        key_file = Path(os.environ.get("HARK_DATA_DIR", "hark-data")) / "api_key"
        if key_file.is_file():
            api_key = key_file.read_text().strip()
    return Client(api_key=api_key, api_base_url=args.base_url)


def _client_command(run):
    """Run a client command: HarkError, OSError and timeouts become one line and exit 1."""

    def command(args: argparse.Namespace) -> int:
        from hark.client import HarkError

        try:
            return run(args)
        except (HarkError, OSError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return command


class _ProgressBar:
    """Progress of one job on stderr: a redrawn bar on a terminal, a line per step otherwise."""

    WIDTH = 30

    def __init__(self, label: str, stream=sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self.last: tuple[str, int] | None = None

    def __call__(self, job) -> None:
        percent = round(100 * (job.progress or 0.0))
        state = (job.status, percent if self.tty else percent // 10 * 10)
        if state == self.last:
            return
        self.last = state
        filled = self.WIDTH * percent // 100
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{self.label}: [{bar}] {percent:3d}% {job.status}"
        if self.tty:
            end = "\n" if job.finished else ""
            print(f"\r{line}\033[K", end=end, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


class _JobFailed(Exception):
    pass


def _transcribe_one(client, source: str, args: argparse.Namespace, config) -> str:
    is_url = source.startswith(("http://", "https://"))
    label = source if is_url else Path(source).name
    if not is_url and not Path(source).is_file():
        raise FileNotFoundError(f"No such file: {source}")
    job = client.stt.transcribe(
        model=args.model,
        audio_url=source if is_url else None,
        file=None if is_url else Path(source),
        config=config,
    )
    try:
        job = client.stt.wait(
            job.id, interval_sec=2.0, timeout_sec=args.timeout, on_progress=_ProgressBar(label)
        )
        if job.status == "error":
            raise _JobFailed(f"transcription failed: {job.error_message} ({job.error_type})")
        transcript = client.stt.get_transcript(job.id)
    finally:
        if not args.keep and job.finished:
            client.stt.destroy(job.id)
    if args.format == "json":
        return transcript.model_dump_json(indent=2, exclude_none=True) + "\n"
    from hark import subtitles

    return subtitles.render(transcript.tokens, args.format, transcript.speaker_names)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from hark.client import HarkAPIError
    from hark.subtitles import EXTENSIONS

    languages = [code.strip() for value in args.language or [] for code in value.split(",")]
    translation = {"type": "one_way", "target_language": args.translate_to}
    # Checked by the client before anything is sent (a HarkValidationError: one error line).
    config = {
        "language_hints": [code for code in languages if code] or None,
        "enable_speaker_diarization": args.diarize or None,
        "enable_separate_recognition_per_channel": args.separate_channels or None,
        "translation": translation if args.translate_to else None,
    }
    many = len(args.inputs) > 1
    if many and args.output:
        args.output.mkdir(parents=True, exist_ok=True)
    failures = 0
    with _client(args) as client:
        for source in args.inputs:
            try:
                text = _transcribe_one(client, source, args, config)
            except (_JobFailed, HarkAPIError, OSError, TimeoutError) as exc:
                print(f"error: {source}: {exc}" if many else f"error: {exc}", file=sys.stderr)
                failures += 1
                continue
            if args.output is None:
                if many:
                    print(f"==> {source} <==")
                sys.stdout.write(text)
                sys.stdout.flush()
                continue
            target = args.output
            if many:
                stem = Path(source.split("?")[0].rstrip("/")).stem or "transcript"
                target = args.output / (stem + EXTENSIONS[args.format])
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}", file=sys.stderr)
    return 1 if failures else 0


def _table(rows: list[tuple], headers: tuple[str, ...]) -> None:
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows, strict=True)]
    for row in (headers, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cmd_files(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.files_command == "upload":
            upload = client.files.upload_presigned if args.presigned else client.files.upload
            for path in args.paths:
                if not path.is_file():
                    raise FileNotFoundError(f"No such file: {path}")
                file = upload(path, client_reference_id=args.client_reference_id)
                print(f"{file.id}  {file.filename}  {file.size}")
        elif args.files_command == "list":
            rows = [
                (f.id, f.filename, f.size, f"{f.created_at:%Y-%m-%d %H:%M:%S}")
                for f in client.files.list_all()
            ]
            _table(rows, ("ID", "FILENAME", "SIZE", "CREATED"))
        else:
            for file_id in args.ids:
                client.files.delete(file_id)
                print(f"deleted {file_id}")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.jobs_command == "list":
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
            _table(rows, ("ID", "STATUS", "PROGRESS", "MODEL", "FILENAME", "CREATED"))
        elif args.jobs_command == "get":
            print(client.stt.get(args.id).model_dump_json(indent=2))
        elif args.jobs_command == "cancel":
            for job_id in args.ids:
                client.stt.cancel(job_id)
                print(f"cancelled {job_id}")
        else:
            for job_id in args.ids:
                client.stt.delete(job_id)
                print(f"deleted {job_id}")
    return 0


def _add_client_commands(sub) -> None:
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--api-key", help="API key (env HARK_API_KEY, else hark-data/api_key)")
    remote.add_argument(
        "--base-url", help="API base URL (env HARK_API_BASE_URL, default http://127.0.0.1:8000/v1)"
    )

    transcribe = sub.add_parser(
        "transcribe",
        parents=[remote],
        help="transcribe audio files or URLs with a running server",
        description="Upload each file (or pass each http(s) URL as audio_url), wait for the "
        "transcription with a progress bar on stderr, and write the transcript.",
    )
    transcribe.add_argument("inputs", nargs="+", metavar="FILE_OR_URL")
    transcribe.add_argument("--model", default="stt-async-v5", help="model id")
    transcribe.add_argument(
        "--language",
        action="append",
        metavar="CODE",
        help="language hint; repeat or separate with commas (e.g. en,de)",
    )
    transcribe.add_argument("--diarize", action="store_true", help="label speakers")
    transcribe.add_argument(
        "--separate-channels",
        action="store_true",
        help="transcribe each audio channel on its own (e.g. stereo calls)",
    )
    transcribe.add_argument("--translate-to", metavar="LANG", help="translate into LANG")
    transcribe.add_argument(
        "--format", choices=("text", "json", "srt", "vtt"), default="text", help="output format"
    )
    transcribe.add_argument(
        "--output",
        "-o",
        type=Path,
        help="output file (with several inputs: a directory, one file per input)",
    )
    transcribe.add_argument(
        "--keep", action="store_true", help="keep the uploaded file and transcription on the server"
    )
    transcribe.add_argument(
        "--timeout", type=float, help="give up waiting for a job after this many seconds"
    )
    transcribe.set_defaults(func=_client_command(cmd_transcribe))

    files = sub.add_parser("files", help="upload, list or delete files")
    files_sub = files.add_subparsers(dest="files_command", required=True)
    files_upload = files_sub.add_parser(
        "upload", parents=[remote], help="upload files; print each one's id, name and size"
    )
    files_upload.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    files_upload.add_argument(
        "--presigned",
        action="store_true",
        help="through a pre-signed upload URL (straight to S3 when the server uses it)",
    )
    files_upload.add_argument("--client-reference-id", metavar="ID")
    files_sub.add_parser("list", parents=[remote], help="list files")
    files_delete = files_sub.add_parser("delete", parents=[remote], help="delete files by id")
    files_delete.add_argument("ids", nargs="+", metavar="ID")
    files.set_defaults(func=_client_command(cmd_files))

    jobs = sub.add_parser("jobs", help="list, show, cancel or delete transcriptions")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_sub.add_parser("list", parents=[remote], help="list transcriptions")
    jobs_get = jobs_sub.add_parser("get", parents=[remote], help="show one transcription as JSON")
    jobs_get.add_argument("id", metavar="ID")
    jobs_delete = jobs_sub.add_parser("delete", parents=[remote], help="delete transcriptions")
    jobs_delete.add_argument("ids", nargs="+", metavar="ID")
    jobs_cancel = jobs_sub.add_parser(
        "cancel", parents=[remote], help="cancel queued or processing transcriptions"
    )
    jobs_cancel.add_argument("ids", nargs="+", metavar="ID")
    jobs.set_defaults(func=_client_command(cmd_jobs))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

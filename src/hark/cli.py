"""`hark` command line: serve the API, manage API keys."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _settings(args: argparse.Namespace):
    from hark.settings import Settings

    overrides = {
        name: value
        for name in ("host", "port", "data_dir", "workers")
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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hark.api import create_app
    from hark.service import Hark

    settings = _settings(args)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    hark = Hark(settings)
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
    uvicorn.run(
        create_app(hark),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from hark.service import Hark

    hark = Hark(_settings(args), run_worker=False)
    hark.migrate()
    if args.keys_command == "create":
        new = hark.keys.create(project=args.project, name=args.name)
        print(new.api_key)
    elif args.keys_command == "list":
        print(f"{'ID':36}  {'PREFIX':14}  {'PROJECT':16}  {'CREATED':20}  STATUS")
        for key, project in hark.store.list_api_keys():
            status = "revoked" if key.revoked_at else "active"
            created = key.created_at.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{key.id:36}  {key.key_prefix + '…':14}  {project:16}  {created:20}  {status}")
    elif args.keys_command == "revoke":
        matches = hark.store.revoke_api_key(args.key_id)
        if matches != 1:
            reason = "No active key" if matches == 0 else f"{matches} active keys match"
            print(f"{reason} with id or prefix {args.key_id!r}; nothing revoked.", file=sys.stderr)
            return 1
        print("Revoked.")
    return 0


def cmd_limits(args: argparse.Namespace) -> int:
    from hark.service import Hark, Limits

    hark = Hark(_settings(args), run_worker=False)
    hark.migrate()
    changes = {name: value for name in Limits.names() if (value := getattr(args, name)) is not None}
    if args.reset or changes:
        project = hark.store.ensure_project(args.project)
        current = {} if args.reset else dict(hark.store.project_limits(project.id) or {})
        hark.store.set_project_limits(args.project, {**current, **changes})
    project = hark.store.ensure_project(args.project)
    overrides = hark.store.project_limits(project.id) or {}
    for name, value in vars(hark.quotas.for_project(project.id)).items():
        source = "project" if name in overrides else "default"
        print(f"{name:28} {value!s:>14}  ({source})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hark", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="data directory (env HARK_DATA_DIR)")

    serve = sub.add_parser(
        "serve", parents=[common], help="run the API server with an in-process worker"
    )
    serve.add_argument("--host", help="bind address (env HARK_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env HARK_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="transcription workers (env HARK_WORKERS)")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser(
        "create", parents=[common], help="create a key and print it (shown only once)"
    )
    create.add_argument("--project", default="default", help="project the key belongs to")
    create.add_argument("--name", help="a label for the key")
    keys_sub.add_parser("list", parents=[common], help="list keys (prefixes only)")
    revoke = keys_sub.add_parser("revoke", parents=[common], help="revoke a key by id or prefix")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

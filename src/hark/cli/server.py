"""The server half of `hark`: `serve`, `worker`, `migrate`, `keys`, `limits`. Server modules
are imported inside each command, so the client half's commands load none of them."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hark.service import Hark
    from hark.settings import Settings

log = logging.getLogger("hark")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (env HARK_DATA_DIR)")
]
Project = Annotated[str, typer.Option("--project", help="the project")]

# An idle keep-alive connection is closed after this long. Longer than clients' and proxies'
# own idle limits (httpx 5 s, nginx 60 s, cloud load balancers 60 s): at uvicorn's default
# of 5 s the server could close a connection just as a client sent its next request on it,
# which fails with no response (a request the client may not dare retry, an upload).
KEEP_ALIVE_S = 75


def _settings(**overrides: Any) -> Settings:
    from hark.settings import Settings

    # Server-side commands: everything they create (database, audio, keys, scratch) is
    # readable by Hark's own user only (files 0600, directories 0700).
    os.umask(0o077)
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def _admin(data_dir: Path | None) -> Hark:
    """The database alone, migrated: for the administrative commands."""
    from hark.service import Hark

    hark = Hark(_settings(data_dir=data_dir), role="admin")
    hark.migrate()
    return hark


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


def serve(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option(help="bind address (env HARK_HOST, default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="port (env HARK_PORT, default 8000)")] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            help="also serve the legacy Soniox gRPC API (soniox 1.x SDK) on this port "
            "(env HARK_GRPC_PORT, default 0: off)"
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="transcription workers (env HARK_WORKERS)")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="log every HTTP request")] = False,
    ssl_certfile: Annotated[
        str | None,
        typer.Option(help="serve HTTPS (and gRPC over TLS) with this PEM certificate"),
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option(help="the certificate's PEM private key")
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="serve the API only; jobs run in `hark worker` processes (HARK_QUEUE_URL)",
        ),
    ] = False,
) -> int:
    """Run the API server with an in-process worker."""
    import uvicorn

    from hark.api import create_app
    from hark.service import Hark

    settings = _settings(
        data_dir=data_dir,
        host=host,
        port=port,
        grpc_port=grpc_port,
        workers=workers,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    _logging()
    hark = Hark(settings, role="api" if no_worker else "serve")
    log.info("Hark: %s", hark.describe())
    if settings.queue_url:
        log.info("jobs go to the queue; `hark worker` processes run them")
    elif no_worker:
        log.warning(
            "--no-worker without HARK_QUEUE_URL: jobs wait in the database until a "
            "`hark serve` with workers starts"
        )
    hark.migrate()
    if settings.api_key:
        try:
            added = hark.keys.ensure(settings.api_key.get_secret_value())
        except ValueError as exc:
            print(f"error: HARK_API_KEY: {exc}", file=sys.stderr)
            return 2
        if added:
            print("Added HARK_API_KEY to the default project.", flush=True)
    elif hark.store.count_active_api_keys() == 0:
        new = hark.keys.create(name="first key")
        path = _write_key_file(settings.data_dir, new.api_key)
        print(f"Created an API key for the default project, saved in {path} (mode 0600).")
        # Shown once on a terminal; never where output is captured (journald, docker logs).
        if sys.stdout.isatty():
            print(f"\n    {new.api_key}\n")
        sys.stdout.flush()
    scheme = "https" if settings.ssl_certfile else "http"
    print(
        f"Hark listening on {scheme}://{settings.host}:{settings.port}/v1 "
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
        access_log=access_log,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return 0


def worker(
    data_dir: DataDir = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="jobs at once, sharing one loaded model (env HARK_WORKERS, default 1)"),
    ] = None,
) -> int:
    """Run a transcription worker taking jobs from the queue (HARK_QUEUE_URL)."""
    from hark.jobs import job_concurrency
    from hark.service import Hark

    settings = _settings(data_dir=data_dir, workers=concurrency)
    _logging()
    try:
        hark = Hark(settings, role="worker")
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("Hark worker: %s", hark.describe())
    hark.start()
    try:
        hark.engine.wait_ready()  # the model loaded once, before the first job
        if settings.metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, settings.host, hark.metrics.registry)
            log.info("metrics on http://%s:%d/metrics", settings.host, settings.metrics_port)
        return hark.dispatcher.run_worker(  # type: ignore[attr-defined,no-any-return]
            hark.run_queued,
            concurrency=job_concurrency(settings),
            hostname=f"hark-{os.getpid()}@{socket.gethostname()}",
            on_ready=lambda: log.info("hark worker ready: taking jobs from the queue"),
        )
    except Exception as exc:
        log.error("worker failed: %s: %s", type(exc).__name__, exc)
        return 1
    finally:
        hark.stop()


def migrate(data_dir: DataDir = None) -> int:
    """Bring the database schema up to date and exit."""
    _admin(data_dir)
    print("The database schema is up to date.")
    return 0


keys = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@keys.command("create")
def keys_create(
    data_dir: DataDir = None,
    project: Project = "default",
    name: Annotated[str | None, typer.Option(help="a label for the key")] = None,
    invox: Annotated[
        bool,
        typer.Option(
            "--invox",
            help="an Invox Medical API credential (app id + API key) instead of a Hark key",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> int:
    """Create a key and print it (shown only once)."""
    hark = _admin(data_dir)
    if invox:
        pair = hark.invox.create_credentials(project)
        if as_json:
            print(json.dumps({"app_id": pair.app_id, "api_key": pair.api_key}))
        else:
            print(f"app id:  {pair.app_id}\napi key: {pair.api_key}")
        return 0
    new = hark.keys.create(project=project, name=name)
    print(json.dumps({"api_key": new.api_key}) if as_json else new.api_key)
    return 0


def _project_secret(which: str, data_dir: Path | None, project: str, new: str | None) -> int:
    """Show or set a project secret: `which` names the Store method (invox_secret, ...)."""
    if new is not None and not new.strip():
        print("error: --set: an empty secret would leave callbacks unsigned", file=sys.stderr)
        return 2
    print(getattr(_admin(data_dir).store, which)(project, new) or "")
    return 0


SetSecret = Annotated[
    str | None, typer.Option("--set", metavar="SECRET", help="replace it with SECRET")
]


@keys.command("invox-secret")
def keys_invox_secret(
    data_dir: DataDir = None, project: Project = "default", set_to: SetSecret = None
) -> int:
    """Show (or --set) the secret a project's Invox callbacks are signed with."""
    return _project_secret("invox_secret", data_dir, project, set_to)


@keys.command("webhook-secret")
def keys_webhook_secret(
    data_dir: DataDir = None, project: Project = "default", set_to: SetSecret = None
) -> int:
    """Show (or --set) the secret a project's webhooks are signed with (instead of
    HARK_WEBHOOK_SIGNING_SECRET)."""
    return _project_secret("webhook_secret", data_dir, project, set_to)


@keys.command("private-networks")
def keys_private_networks(
    data_dir: DataDir = None,
    project: Project = "default",
    set_to: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="CIDR", help="replace them (repeat for several; e.g. 10.1.2.3/32)"
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove them all")] = False,
) -> int:
    """Show (or --set) the private networks a project's audio_url and webhook URLs may
    reach, besides HARK_ALLOWED_PRIVATE_NETWORKS."""
    import ipaddress

    try:
        networks = [str(ipaddress.ip_network(n, strict=False)) for n in set_to or ()]
    except ValueError as exc:
        print(f"error: --set: {exc}", file=sys.stderr)
        return 2
    replace = networks if (set_to or clear) else None
    for network in _admin(data_dir).store.private_networks(project, replace):
        print(network)
    return 0


@keys.command("list")
def keys_list(data_dir: DataDir = None) -> int:
    """List keys (prefixes only)."""
    from .tables import print_table

    store = _admin(data_dir).store
    rows = [(k.id, k.key_prefix + "…", p, k, "") for k, p in store.list_api_keys()]
    rows += [(c.id, c.app_id, p, c, " (invox)") for c, p in store.list_invox_credentials()]
    print_table(
        ("ID", "PREFIX", "PROJECT", "CREATED", "STATUS"),
        [
            (
                key_id,
                prefix,
                project,
                f"{key.created_at:%Y-%m-%d %H:%M:%S}",
                ("revoked" if key.revoked_at else "active") + kind,
            )
            for key_id, prefix, project, key, kind in rows
        ],
    )
    return 0


@keys.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="a key's id or prefix, or an Invox app id")],
    data_dir: DataDir = None,
) -> int:
    """Revoke a key by id or prefix, or an Invox app id."""
    store = _admin(data_dir).store
    matches = store.revoke_api_key(key_id)
    if matches == 0:
        matches = store.revoke_invox_credential(key_id)
    if matches != 1:
        reason = "No active key" if matches == 0 else f"{matches} active keys match"
        print(f"{reason} with id or prefix {key_id!r}; nothing revoked.", file=sys.stderr)
        return 1
    print("Revoked.")
    return 0


def limits(
    data_dir: DataDir = None,
    project: Project = "default",
    reset: Annotated[bool, typer.Option("--reset", help="back to the server defaults")] = False,
    max_file_size: Annotated[int | None, typer.Option()] = None,
    max_storage_bytes: Annotated[int | None, typer.Option()] = None,
    max_files: Annotated[int | None, typer.Option()] = None,
    max_transcriptions: Annotated[int | None, typer.Option()] = None,
    max_pending_transcriptions: Annotated[int | None, typer.Option()] = None,
    max_jobs_in_flight_per_project: Annotated[int | None, typer.Option()] = None,
    max_audio_duration_seconds: Annotated[float | None, typer.Option()] = None,
) -> int:
    """Show or set a project's quotas (defaults come from HARK_MAX_* settings)."""
    from hark.service import Limits

    given = {
        "max_file_size": max_file_size,
        "max_storage_bytes": max_storage_bytes,
        "max_files": max_files,
        "max_transcriptions": max_transcriptions,
        "max_pending_transcriptions": max_pending_transcriptions,
        "max_jobs_in_flight_per_project": max_jobs_in_flight_per_project,
        "max_audio_duration_seconds": max_audio_duration_seconds,
    }
    hark = _admin(data_dir)
    changes = {name: given[name] for name in Limits.names() if given.get(name) is not None}
    row = hark.store.ensure_project(project)
    overrides = {} if reset else dict(row.limits or {})
    if reset or changes:
        overrides.update(changes)
        hark.store.set_project_limits(project, overrides)
    for name, value in vars(hark.quotas.defaults.overridden(overrides)).items():
        source = "project" if name in overrides else "default"
        print(f"{name:28} {value!s:>14}  ({source})")
    return 0


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.command()(migrate)
    app.add_typer(keys, name="keys")
    app.command()(limits)

"""Fixtures: real `hark serve` (and `hark worker`) subprocesses on free loopback ports, with
temporary data dirs; for the scaled-out configuration also real PostgreSQL, Redis and S3
servers (see services.py)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import (
    AUDIO,
    MODELS,
    WEBHOOK_SECRET,
    Server,
    WebServer,
    start_server,
    start_stack,
)
from support.services import TRANSLATION, Services, ensure_installed, free_port


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    svc = Services()
    yield svc
    svc.stop()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Apertium's en<->es pair is installed before any server starts (servers list the
    translation pairs they find when they start)."""
    try:
        ensure_installed(*TRANSLATION)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"warning: translation tests will fail: {exc}", file=sys.stderr)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules marked `backends("embedded", "scaled")` run every test that uses the `server`
    fixture against both configurations."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "server" in metafunc.fixturenames:
        metafunc.parametrize("server", marker.args, indirect=True, scope="session")


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Server:
    """The shared server: embedded (default) or scaled out (see pytest_generate_tests)."""
    return request.getfixturevalue(f"{getattr(request, 'param', 'embedded')}_server")


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`hark serve` with its defaults (SQLite, local files, in-process worker): one model
    load for the whole session."""
    srv = start_server(
        tmp_path_factory.mktemp("hark"),
        api_key="hark_test_" + secrets.token_hex(8),
        # One loopback address stands in for an allowed internal host (see test_audio_url).
        allowed_private_networks='["127.0.0.2/32"]',
        translation_models_dir=str(MODELS),
        # One job at a time: tests queue a job behind a running one (batching across jobs
        # has its own server in test_batching_server).
        batch_jobs="1",
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def scaled_server(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same API scaled out: `hark serve --no-worker` on PostgreSQL and S3, its jobs run
    by a `hark worker` through Redis."""
    stack = start_stack(
        services,
        tmp_path_factory.mktemp("hark-scaled"),
        api_key="hark_test_" + secrets.token_hex(8),
        allowed_private_networks='["127.0.0.2/32"]',
        translation_models_dir=str(MODELS),
        batch_jobs="1",  # as the embedded server: one job at a time
    )
    yield stack.apis[0]
    stack.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def other_project_key(server: Server) -> str:
    return server.new_key("other-team")


@pytest.fixture(scope="session")
def webserver() -> Iterator[WebServer]:
    port = free_port()
    script = Path(__file__).with_name("webserver.py")
    process = subprocess.Popen([sys.executable, str(script), str(port), str(AUDIO)])
    web = WebServer(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(web.url("/requests"), timeout=1).is_success:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
    yield web
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may fetch from and call back to localhost, signs its webhooks, retries
    them quickly, and has small limits on audio size and duration."""
    srv = start_server(
        tmp_path_factory.mktemp("hark-private"),
        api_key="hark_test_" + secrets.token_hex(8),
        allow_private_urls="true",
        webhook_signing_secret=WEBHOOK_SECRET,
        webhook_retry_base_seconds="0.5",
        max_file_size=str(4 * 1024 * 1024),
        max_audio_duration_seconds="15",
        fetch_timeout="3",
    )
    yield srv
    srv.stop()

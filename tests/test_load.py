"""Load on one embedded `hark serve` (issue 19): 200 clients polling transcription status
while 20 clients upload 10 MB recordings, over and over, for 30 s: no error of any kind, and
every upload's stored audio (read back through GET /v1/files/{id}/audio) is byte for byte
what was sent. The poll's p50/p99 and the upload throughput are printed; the figures to quote
come from benchmarks/load.py, run on a quiet machine. Loopback only: every URL is the
server's own."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest

from load import MiB, prepare, run_load, speech_wav
from support import JFK, Server, start_server

POLLERS = 200
UPLOADERS = 20
SECONDS = int(__import__("os").environ.get("HARK_LOAD_SECONDS", "30"))


@pytest.fixture(scope="module")
def load_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("hark-load"),
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",  # jobs stay queued: the API, not the engine, is under load
        rate_limit_per_minute="0",  # the default, said outright: one key sends all of it
    )
    yield srv
    srv.stop()


@pytest.mark.slow
def test_pollers_and_large_uploads_at_once_lose_nothing(load_server: Server):
    wav = speech_wav(10 * MiB)
    ids = prepare(load_server.base_url, load_server.api_key, 20, JFK)
    result = asyncio.run(
        run_load(
            load_server.base_url,
            load_server.api_key,
            ids,
            SECONDS,
            pollers=POLLERS,
            poll_interval=0.5,
            uploaders=UPLOADERS,
            wav=wav,
        )
    )
    figures = result.figures()
    print(f"\nload: {POLLERS} pollers, {UPLOADERS} uploaders of 10 MiB: {figures}")
    assert result.errors == [], result.errors[:10]
    assert figures["polls"] >= POLLERS * SECONDS  # each poller kept polling throughout
    assert result.uploads >= UPLOADERS  # every uploader stored (and checked) at least one
    # Nothing left behind: every upload was deleted after its check, no partial file remains.
    assert len(load_server.stored_blobs()) == 1  # the polled jobs' file
    assert load_server.partial_uploads() == []

"""Hark's own realtime client (`client.realtime` on Client and AsyncClient) and
`hark stream`, against a real server and the real model."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hark.client import AsyncClient, Client, HarkValidationError, RealtimeConfig
from hark.engine import decode_audio
from support import DEV_CLEAN, JFK, normalize
from support.media import encode_bytes
from test_client_imports import modules_after, server_modules

KITTENS = DEV_CLEAN / "1988-24833-0000.flac"
RAW = {"audio_format": "pcm_s16le", "sample_rate": 16_000, "num_channels": 1}


def pcm16(path) -> bytes:
    return (np.clip(decode_audio(path), -1, 1) * 32767).astype("<i2").tobytes()


def pieces(data: bytes, size: int = 3200) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_sync_client_finalize_and_finish(server):
    audio = pcm16(JFK)
    client = Client(api_key=server.api_key, api_base_url=server.base_url)
    with client, client.realtime.stt.connect(config=RealtimeConfig(**RAW)) as session:
        session.send_bytes(pieces(audio[: len(audio) // 3]), finish=False)
        session.finalize()
        session.send_bytes(pieces(audio[len(audio) // 3 :]))
        events = list(session.receive_events())
    assert events[-1].finished and not any(e.error_code for e in events)
    finals = [t.text for e in events for t in e.tokens if t.is_final]
    assert finals.count("<fin>") == 1
    assert "for your country" in normalize("".join(finals))


def test_async_client_streams(server):
    audio = pcm16(KITTENS)

    async def run() -> list:
        client = AsyncClient(api_key=server.api_key, api_base_url=server.base_url)
        async with client, client.realtime.stt.connect(config=RAW) as session:
            await session.send_bytes(pieces(audio))
            return [event async for event in session.receive_events()]

    events = asyncio.run(run())
    assert events[-1].finished
    text = "".join(t.text for e in events for t in e.tokens if t.is_final)
    assert "two stray kittens" in normalize(text)


def test_config_is_checked_before_connecting(server):
    client = Client(api_key=server.api_key, api_base_url=server.base_url)
    with client, pytest.raises(HarkValidationError, match="needs sample_rate and num_channels"):
        client.realtime.stt.connect(config={"audio_format": "mulaw"})


@pytest.fixture(scope="module")
def hark_stream(server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env["HARK_API_KEY"] = server.api_key
    env["HARK_API_BASE_URL"] = server.base_url

    def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hark.cli", "stream", *args],
            env=env,
            input=stdin,
            capture_output=True,
            timeout=300,
        )

    return run


def test_stream_a_container_file_fast_as_jsonl(hark_stream, tmp_path):
    path = tmp_path / "kittens.ogg"
    path.write_bytes(encode_bytes(KITTENS, "ogg", "libopus", 48_000))
    done = hark_stream(str(path), "--fast", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert events[-1]["finished"] is True
    text = "".join(t["text"] for e in events for t in e["tokens"] if t["is_final"])
    assert "two stray kittens" in normalize(text)


def test_stream_raw_stdin_at_real_time_pace_prints_final_text(hark_stream):
    args = ("-", "--audio-format", "pcm_s16le", "--sample-rate", "16000", "--num-channels", "1")
    done = hark_stream(*args, stdin=pcm16(KITTENS))
    assert done.returncode == 0, done.stderr
    assert "two stray kittens" in normalize(done.stdout.decode())


def test_stream_errors_are_one_line(hark_stream, tmp_path):
    done = hark_stream("-", "--audio-format", "mulaw", stdin=b"")
    assert done.returncode == 1
    assert b"needs sample_rate and num_channels" in done.stderr
    garbage = tmp_path / "noise.bin"
    garbage.write_bytes(b"\x00garbage" * 10_000)
    done = hark_stream(str(garbage), "--fast")
    assert done.returncode == 1 and b"could not be decoded" in done.stderr


def test_realtime_client_and_stream_command_load_nothing_of_the_server():
    code = (
        "from hark.client import Client, AsyncClient\n"
        "Client(api_key='k').realtime.stt.connect(config={'model': 'stt-rt-v5'})\n"
        "AsyncClient(api_key='k').realtime.stt.connect()\n"
        "import hark.cli.stream"
    )
    modules = modules_after(code)
    assert "hark.client.realtime" in modules
    assert server_modules(modules) == []

"""Load on one embedded `hark serve`: many clients polling transcription status while others
upload large files, every upload read back and compared (issue 19).

Runs, in order, against a server of its own (HARK_WORKERS=0: the API, not the engine, is
under load): the pollers alone for --baseline-seconds, then pollers and uploaders together
for --seconds. Prints the status GET's p50/p99 in both phases and their ratio, the upload
throughput, and every error (a non-2xx answer, a failed connection, an upload whose stored
bytes differ from what was sent).

    HF_HUB_OFFLINE=1 python benchmarks/load.py [--pollers 200] [--uploaders 20] [--seconds 30]

tests/test_load.py runs the same load (`run_load`) as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import hashlib
import io
import json
import math
import multiprocessing
import ssl
import sys
import time
import wave
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE = REPO_ROOT.parent / "shared" / "audio" / "longform" / "voxpopuli-en-000.ogg"
MiB = 2**20
WAV_HEADER = 44  # bytes before the samples in the WAV `speech_wav` writes


def speech_wav(size: int, source: Path = SOURCE) -> bytes:
    """A 16 kHz mono 16-bit WAV of about `size` bytes: a real recording, repeated."""
    from hark.engine import SAMPLE_RATE, decode_audio  # here: the uploading child needs none

    audio = decode_audio(source)
    samples = (size - WAV_HEADER) // 2
    pcm = (np.clip(np.resize(audio, samples), -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())
    return out.getvalue()


def varied(wav: bytes, uploader: int, count: int) -> bytes:
    """`wav` with a few samples near the start replaced by a mark of (uploader, count), so
    every upload has its own checksum and still plays as the same speech."""
    body = bytearray(wav)
    mark = np.array([uploader, count, ~uploader, ~count], dtype="<i2").tobytes()
    body[WAV_HEADER : WAV_HEADER + len(mark)] = mark
    return bytes(body)


def percentile(ordered: list[float], p: float) -> float:
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class LoadResult:
    seconds: float = 0.0
    polls_ms: list[float] = field(default_factory=list)
    uploads: int = 0
    upload_bytes: int = 0
    upload_seconds: list[float] = field(default_factory=list)  # POST /files, each
    errors: list[str] = field(default_factory=list)  # every failure, described

    def figures(self) -> dict:
        ordered = sorted(self.polls_ms)
        upload_s = sorted(self.upload_seconds)
        return {
            "seconds": round(self.seconds, 2),
            "polls": len(ordered),
            "polls_per_s": round(len(ordered) / self.seconds, 1) if self.seconds else 0,
            "poll_p50_ms": round(percentile(ordered, 50), 2),
            "poll_p99_ms": round(percentile(ordered, 99), 2),
            "poll_max_ms": round(ordered[-1], 2) if ordered else math.nan,
            "uploads": self.uploads,
            "upload_mib_per_s": round(self.upload_bytes / MiB / self.seconds, 1)
            if self.seconds
            else 0,
            "upload_p50_s": round(percentile(upload_s, 50), 3),
            "upload_max_s": round(upload_s[-1], 3) if upload_s else math.nan,
            "errors": len(self.errors),
        }


def _client(base_url: str, api_key: str, timeout: float) -> httpx.AsyncClient:
    # A client (connection pool) per poller and uploader, as separate programs would have:
    # one pool shared by hundreds of connections costs the client more than the server.
    headers = {"Authorization": f"Bearer {api_key}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout, verify=_tls())


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client (the URLs are plain http): a client making its own
    reads the CA bundle, 30 ms each."""
    return ssl.create_default_context()


async def _wait_until(start_at: float) -> float:
    """Sleep until wall-clock `start_at` (both processes start together); the start."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    return time.perf_counter()


async def poll(
    base_url: str,
    api_key: str,
    poll_ids: list[str],
    seconds: float,
    pollers: int,
    poll_interval: float,
    timeout: float = 60,
    begin: Callable[[], float] = time.time,
) -> LoadResult:
    """`pollers` clients GET /transcriptions/{id} (of `poll_ids`, in turn), each once every
    `poll_interval` s in a fixed slot, for `seconds`, from the wall-clock time `begin()`
    returns once every poller has connected."""
    result = LoadResult()

    async def poller(index: int, client: httpx.AsyncClient, start: float, end: float) -> None:
        # Fixed slots spread over the interval: one slow answer does not put pollers in step.
        next_at = start + poll_interval * index / pollers
        count = 0
        while (now := time.perf_counter()) < end:
            await asyncio.sleep(max(0.0, next_at - now))
            next_at += poll_interval
            job_id = poll_ids[(index + count) % len(poll_ids)]
            count += 1
            begun = time.perf_counter()
            try:
                response = await client.get(f"/transcriptions/{job_id}")
            except httpx.HTTPError as exc:
                result.errors.append(f"GET /transcriptions/{job_id}: {exc!r}")
                continue
            result.polls_ms.append((time.perf_counter() - begun) * 1000)
            if response.status_code != 200:
                result.errors.append(
                    f"GET /transcriptions/{job_id}: {response.status_code} {response.text}"
                )

    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_client(base_url, api_key, timeout))
            for _ in range(pollers)
        ]
        # Each poller's connection opened (and the server's caches warm) before timing.
        warm = [c.get(f"/transcriptions/{poll_ids[0]}") for c in clients]
        for response in await asyncio.gather(*warm):
            response.raise_for_status()
        start = await _wait_until(begin())
        end = start + seconds
        await asyncio.gather(*(poller(i, c, start, end) for i, c in enumerate(clients)))
        result.seconds = time.perf_counter() - start
    return result


async def upload(
    base_url: str,
    api_key: str,
    wav: bytes,
    seconds: float,
    uploaders: int,
    timeout: float = 60,
    start_at: float = 0,
) -> LoadResult:
    """`uploaders` clients each upload `wav` (varied, see `varied`), read the stored audio
    back (GET /files/{id}/audio) and compare its SHA-256, then delete the file, over and
    over, starting uploads for `seconds`."""
    result = LoadResult()

    async def uploader(index: int, client: httpx.AsyncClient, end: float) -> None:
        count = 0
        while time.perf_counter() < end:
            body = varied(wav, index, count)
            name = f"load-{index}-{count}.wav"
            count += 1
            try:
                begun = time.perf_counter()
                response = await client.post("/files", files={"file": (name, body, "audio/wav")})
                result.upload_seconds.append(time.perf_counter() - begun)
                if response.status_code != 201:
                    result.errors.append(
                        f"POST /files {name}: {response.status_code} {response.text}"
                    )
                    continue
                file_id = response.json()["id"]
                stored = await client.get(f"/files/{file_id}/audio")
                if stored.status_code != 200:
                    result.errors.append(f"GET /files/{file_id}/audio: {stored.status_code}")
                elif hashlib.sha256(stored.content).digest() != hashlib.sha256(body).digest():
                    result.errors.append(f"{name} ({file_id}): the stored bytes differ")
                else:
                    result.uploads += 1  # stored, and read back intact
                    result.upload_bytes += len(body)
                deleted = await client.delete(f"/files/{file_id}")
                if deleted.status_code != 204:
                    result.errors.append(f"DELETE /files/{file_id}: {deleted.status_code}")
            except httpx.HTTPError as exc:
                result.errors.append(f"upload {name}: {exc!r}")

    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_client(base_url, api_key, timeout))
            for _ in range(uploaders)
        ]
        start = await _wait_until(start_at)
        await asyncio.gather(*(uploader(i, c, start + seconds) for i, c in enumerate(clients)))
        result.seconds = time.perf_counter() - start
    return result


def _upload_in_child(*args: object) -> LoadResult:
    return asyncio.run(upload(*args))  # type: ignore[arg-type]


def _child_ready() -> None:
    """Run once in the child before timing: it is started and has imported this module."""


async def run_load(
    base_url: str,
    api_key: str,
    poll_ids: list[str],
    seconds: float,
    pollers: int = 200,
    poll_interval: float = 0.5,
    uploaders: int = 0,
    wav: bytes = b"",
    timeout: float = 60,
) -> LoadResult:
    """`poll` here and, with `uploaders`, `upload` in a child process at the same time (the
    uploaders' hashing and multipart encoding would otherwise delay the pollers in this
    event loop, and be counted as the server's latency); one result for both."""
    if not uploaders:
        return await poll(base_url, api_key, poll_ids, seconds, pollers, poll_interval, timeout)
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        await loop.run_in_executor(pool, _child_ready)
        uploads: list[asyncio.Future[LoadResult]] = []

        def begin() -> float:  # the pollers are connected: both sides start together
            start_at = time.time() + 0.5
            args = (base_url, api_key, wav, seconds, uploaders, timeout, start_at)
            uploads.append(loop.run_in_executor(pool, _upload_in_child, *args))
            return start_at

        polls = await poll(
            base_url, api_key, poll_ids, seconds, pollers, poll_interval, timeout, begin
        )
        result = await uploads[0]
    result.polls_ms = polls.polls_ms
    result.errors = polls.errors + result.errors
    result.seconds = max(result.seconds, polls.seconds)
    return result


def prepare(base_url: str, api_key: str, count: int, sample: Path) -> list[str]:
    """Transcriptions to poll: `count` jobs of one uploaded file (queued: no workers)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        upload = client.post("/files", files={"file": (sample.name, sample.read_bytes())})
        file_id = upload.raise_for_status().json()["id"]
        ids = []
        for _ in range(count):
            job = client.post("/transcriptions", json={"model": "stt-async-v5", "file_id": file_id})
            ids.append(job.raise_for_status().json()["id"])
    return ids


def main() -> None:
    # The benchmark's server: started as throughput.py starts its own.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from throughput import TTR_FILE, hark_server

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pollers", type=int, default=200)
    p.add_argument("--poll-interval", type=float, default=0.5, help="seconds, per poller")
    p.add_argument("--uploaders", type=int, default=20)
    p.add_argument("--upload-mib", type=float, default=10, help="size of each upload")
    p.add_argument("--seconds", type=float, default=30, help="the loaded phase")
    p.add_argument("--baseline-seconds", type=float, default=10, help="pollers alone")
    p.add_argument("--jobs", type=int, default=20, help="transcriptions the pollers poll")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()

    wav = speech_wav(int(args.upload_mib * MiB))
    with hark_server(0, 120) as (url, api_key, _pid):
        ids = prepare(url, api_key, args.jobs, TTR_FILE)
        gc.collect()
        gc.disable()  # a collection in this process would stall every client at once
        try:
            alone = asyncio.run(
                run_load(url, api_key, ids, args.baseline_seconds, args.pollers, args.poll_interval)
            )
            loaded = asyncio.run(
                run_load(
                    url, api_key, ids, args.seconds, args.pollers, args.poll_interval,
                    args.uploaders, wav,
                )
            )  # fmt: skip
        finally:
            gc.enable()
    base, load = alone.figures(), loaded.figures()
    print(
        f"\n== load: {args.pollers} pollers (1 GET per {args.poll_interval:g} s each), "
        f"{args.uploaders} uploaders of {len(wav) / MiB:.1f} MiB, one embedded server =="
    )
    print(f"  {'phase':<22}{'GETs/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for label, x in (
        (f"pollers alone {base['seconds']:g}s", base),
        (f"with uploads {load['seconds']:g}s", load),
    ):
        print(
            f"  {label:<22}{x['polls_per_s']:8.0f}{x['poll_p50_ms']:9.1f}{x['poll_p99_ms']:9.1f}"
            f"{x['poll_max_ms']:9.1f}{x['errors']:8d}"
        )
    print(f"  p99 ratio (with uploads / alone): {load['poll_p99_ms'] / base['poll_p99_ms']:.2f}")
    print(
        f"  uploads: {load['uploads']} stored and read back intact, "
        f"{load['upload_mib_per_s']:.1f} MiB/s, POST p50 {load['upload_p50_s']:.2f} s, "
        f"max {load['upload_max_s']:.2f} s"
    )
    for error in (alone.errors + loaded.errors)[:20]:
        print(f"  ERROR {error}")
    if args.json:
        args.json.write_text(json.dumps({"pollers_alone": base, "loaded": load}, indent=2) + "\n")
    if alone.errors or loaded.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Throughput, status-poll latency and memory of a Hark server, against the raw engine.

Runs, in order: the raw faster-whisper baseline (in a child process, before the server
starts), a `hark serve` subprocess with a warm-up job, status latency while the worker is
idle, end-to-end throughput through the API, and status latency while the worker is busy.

    HF_HUB_OFFLINE=1 python benchmarks/throughput.py [--repeat 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from hark.engine import SAMPLE_RATE, EngineConfig, decode_audio
from hark.engine.asr import resolve_model

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AUDIO = REPO_ROOT.parent / "shared" / "audio" / "librispeech" / "dev-clean"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
POLL_INTERVAL = 0.25  # seconds between the rounds of `wait_all`
MODEL = "stt-async-v5"
TTR_FILE = REPO_ROOT.parent / "shared" / "audio" / "misc" / "jfk.flac"  # 11 s


@dataclass
class Latency:
    label: str
    requests: int
    errors: int
    wall_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    worker_busy_throughout: bool | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s


# -- raw engine baseline (runs in a child process: its own peak RSS, no HTTP stack) ---------


def run_baseline(config: EngineConfig, files: list[str], warm_up: str) -> tuple[float, int]:
    """Transcribe `files` sequentially, like the server would; return (seconds, peak RSS bytes)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(
        resolve_model(config.model),
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        num_workers=config.num_workers,
    )

    def transcribe(path: str) -> None:
        segments, _ = model.transcribe(
            path, beam_size=config.beam_size, word_timestamps=True, vad_filter=config.vad_filter
        )
        for _ in segments:  # the generator does the work
            pass

    transcribe(warm_up)  # like the server's warm-up job: first-call costs are not timed
    start = time.perf_counter()
    for path in files:
        transcribe(path)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the server under test ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def hark_server(workers: int, timeout: float) -> Iterator[tuple[str, str, int]]:
    """Start `hark serve` on a free loopback port; yield (base URL, API key, pid)."""
    api_key = "hark_bench_" + secrets.token_urlsafe(24)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hark-bench-") as data_dir:
        log_path = Path(data_dir) / "server.log"
        command = [sys.executable, "-m", "hark.cli", "serve", "--port", str(port)]
        command += ["--data-dir", data_dir, "--workers", str(workers)]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command, env=os.environ | {"HARK_API_KEY": api_key}, stdout=log, stderr=log
            )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    sys.exit(f"hark serve exited ({proc.returncode}):\n{log_path.read_text()}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit(f"hark serve not healthy after {timeout:.0f}s")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/v1", api_key, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def external_server(
    url: str, api_key: str, pid: int | None
) -> Iterator[tuple[str, str, int | None]]:
    """Use a server that is already running."""
    yield url.rstrip("/"), api_key, pid


def peak_rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# -- API client ---------------------------------------------------------------------------


def submit(client: httpx.Client, path: Path, **config: object) -> str:
    """Upload one file and create its transcription (with `config`); return its id."""
    upload = client.post("/files", files={"file": (path.name, path.read_bytes())})
    upload.raise_for_status()
    body = {"model": MODEL, "file_id": upload.json()["id"], **config}
    created = client.post("/transcriptions", json=body)
    created.raise_for_status()
    return created.json()["id"]


def wait_all(client: httpx.Client, ids: list[str], timeout: float) -> dict[str, dict]:
    """Poll until every job has finished; return each job's final state.

    Jobs start in submission order, so a round stops at the first job still queued: the
    cost of polling stays a few requests per round however many jobs are waiting."""
    pending = list(ids)
    done: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            sys.exit(f"{len(pending)} transcriptions unfinished after {timeout:.0f}s")
        for job_id in list(pending):
            job = client.get(f"/transcriptions/{job_id}").raise_for_status().json()
            if job["status"] in ("completed", "error"):
                done[job_id] = job
                pending.remove(job_id)
            elif job["status"] == "queued":
                break
        if pending:
            time.sleep(POLL_INTERVAL)
    return done


def percentile(ordered: list[float], p: float) -> float:
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def hammer(
    url: str, api_key: str, ids: list[str], args: argparse.Namespace
) -> tuple[list[float], int, float]:
    """`args.clients` concurrent connections GET transcriptions until `args.status_requests`
    are done, each starting one request every `args.status_interval` s (0: back to back).
    Each client first sends one untimed request, so that connecting and the server's pools
    warming up are not measured. Returns (latencies in ms, error count, wall seconds)."""
    latencies: list[float] = []
    errors = issued = 0

    async def client_loop(index: int, client: httpx.AsyncClient) -> None:
        nonlocal errors, issued
        # Paced clients keep fixed slots, spread evenly over the interval: sleeping for
        # `interval` after each response would let one slow response put them in step.
        next_at = time.perf_counter() + args.status_interval * index / args.clients
        while True:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if issued >= args.status_requests:
                return
            next_at += args.status_interval
            job_id = ids[issued % len(ids)]
            issued += 1
            start = time.perf_counter()
            try:
                response = await client.get(f"/transcriptions/{job_id}")
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok

    headers = {"Authorization": f"Bearer {api_key}"}
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers, timeout=30)
            )
            for _ in range(args.clients)
        ]
        warm_up = [client.get(f"/transcriptions/{ids[0]}") for client in clients]
        for response in await asyncio.wait_for(asyncio.gather(*warm_up), args.timeout):
            response.raise_for_status()
        start = time.perf_counter()
        loops = [client_loop(i, client) for i, client in enumerate(clients)]
        await asyncio.wait_for(asyncio.gather(*loops), args.timeout)
        return latencies, errors, time.perf_counter() - start


def status_latency(
    label: str, url: str, api_key: str, ids: list[str], args: argparse.Namespace
) -> Latency:
    gc.collect()
    gc.disable()  # a collection here (~200 ms) would stall every client at once
    try:
        latencies, errors, wall = asyncio.run(hammer(url, api_key, ids, args))
    finally:
        gc.enable()
    ordered = sorted(latencies)
    return Latency(
        label, len(ordered), errors, wall,
        *(percentile(ordered, p) for p in (50, 90, 99, 100)),
    )  # fmt: skip


# -- issue 18: (c) time to result, (c2) status GET under wrk, (d) fairness -----------------
# Separate flags (--time-to-result, --poll-wrk, --fairness) run these instead of the rest.


def run_single(config: EngineConfig, path: str, repeats: int) -> list[float]:
    """The raw engine's time for one file, `repeats` times after a warm-up (child process)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(
        resolve_model(config.model),
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        num_workers=config.num_workers,
    )

    def transcribe() -> None:
        segments, _ = model.transcribe(
            path, beam_size=config.beam_size, word_timestamps=True, vad_filter=config.vad_filter
        )
        for _ in segments:
            pass

    transcribe()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transcribe()
        times.append(time.perf_counter() - start)
    return times


def data_dir_of(pid: int) -> Path:
    """The --data-dir of a `hark serve` started by `hark_server`."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return Path(argv[argv.index("--data-dir") + 1])


def job_phases(pid: int, job_id: str) -> tuple[float, float] | None:
    """(created -> started, started -> finished) seconds, from the server's own database."""
    import sqlite3
    from datetime import datetime

    with sqlite3.connect(data_dir_of(pid) / "hark.db") as db:
        row = db.execute(
            "SELECT created_at, started_at, finished_at FROM transcriptions WHERE id = ?",
            (job_id,),
        ).fetchone()
    if row is None or None in row:
        return None
    created, started, finished = (datetime.fromisoformat(v) for v in row)
    return (started - created).total_seconds(), (finished - started).total_seconds()


def time_to_result(args: argparse.Namespace) -> dict:
    """(c) One ~10 s file at a time: Hark (create -> seen completed, polling every
    --ttr-poll s) against the raw engine on the same file; medians and their difference."""
    from hark.jobs import engine_config
    from hark.settings import Settings

    path = args.ttr_file
    config = engine_config(Settings(workers=args.workers))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        raw = pool.submit(run_single, config, str(path), args.ttr_repeat).result(args.timeout)
    totals, dispatch, processing, observe = [], [], [], []
    with hark_server(args.workers, args.timeout) as (url, api_key, pid):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            file_id = client.post("/files", files={"file": (path.name, path.read_bytes())})
            file_id = file_id.raise_for_status().json()["id"]
            for attempt in range(args.ttr_repeat + 1):  # the first loads the model: untimed
                start = time.perf_counter()
                job = client.post("/transcriptions", json={"model": MODEL, "file_id": file_id})
                job_id = job.raise_for_status().json()["id"]
                while (state := client.get(f"/transcriptions/{job_id}").json())["status"] not in (
                    "completed",
                    "error",
                ):
                    time.sleep(args.ttr_poll)
                total = time.perf_counter() - start
                if state["status"] != "completed":
                    sys.exit(f"time to result: job failed: {state['error_message']}")
                if attempt == 0:
                    continue
                totals.append(total)
                if phases := job_phases(pid, job_id):
                    dispatch.append(phases[0])
                    processing.append(phases[1])
                    observe.append(total - phases[0] - phases[1])

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] if values else float("nan")

    figures = {
        "file": path.name,
        "repeat": args.ttr_repeat,
        "poll_interval_s": args.ttr_poll,
        "raw_median_s": median(raw),
        "hark_median_s": median(totals),
        "overhead_median_ms": (median(totals) - median(raw)) * 1000,
        "hark_dispatch_median_ms": median(dispatch) * 1000,
        "hark_processing_median_s": median(processing),
        "hark_processing_over_raw_ms": (median(processing) - median(raw)) * 1000,
        "hark_finish_to_seen_median_ms": median(observe) * 1000,
    }
    print(f"\n== (c) time to result, {path.name}, {args.ttr_repeat} runs ==")
    print(f"  raw engine median       {figures['raw_median_s'] * 1000:8.0f} ms")
    print(f"  Hark median             {figures['hark_median_s'] * 1000:8.0f} ms")
    verdict = "ok" if figures["overhead_median_ms"] <= 150 else "ABOVE"
    print(f"  overhead                {figures['overhead_median_ms']:8.0f} ms  {verdict} (<= 150)")
    print(f"    created -> started    {figures['hark_dispatch_median_ms']:8.0f} ms")
    print(f"    processing - raw      {figures['hark_processing_over_raw_ms']:8.0f} ms")
    print(f"    finished -> seen      {figures['hark_finish_to_seen_median_ms']:8.0f} ms")
    return figures


BARE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = sys.stdin.buffer.read()
async def get(request):
    return Response(body, media_type="application/json")
app = Starlette(routes=[Route("/v1/transcriptions/{id}", get)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def bare_endpoint(body: bytes) -> Iterator[str]:
    """A bare Starlette endpoint answering `body` on uvicorn with the same defaults as
    `hark serve` (uvloop and httptools when installed); yields its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(body)
    proc.stdin.close()
    url = f"http://127.0.0.1:{port}/v1/transcriptions/x"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("the bare Starlette endpoint did not start")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def wrk(url: str, api_key: str, seconds: float) -> tuple[float, float, int]:
    """`wrk -t2 -c64` for `seconds`: (requests/s, p99 ms, non-2xx responses)."""
    import re

    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds:g}s", "--latency", "-H",
         f"Authorization: Bearer {api_key}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, p99, int(bad[1]) if bad else 0


def poll_vs_bare(label: str, hark_url: str, bare_url: str, api_key: str, args) -> dict:
    """Hark and the bare endpoint in turns (bare, Hark, bare, Hark, ...), so both see the
    same machine; medians over the rounds and their ratios."""
    hark, bare = [], []
    for _ in range(args.wrk_rounds):
        bare.append(wrk(bare_url, api_key, args.wrk_seconds))
        hark.append(wrk(hark_url, api_key, args.wrk_seconds))

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    figures = {
        "worker": label,
        "hark_rps": median([r for r, _, _ in hark]),
        "hark_p99_ms": median([p for _, p, _ in hark]),
        "hark_errors": sum(e for _, _, e in hark),
        "bare_rps": median([r for r, _, _ in bare]),
        "bare_p99_ms": median([p for _, p, _ in bare]),
    }
    figures["rps_ratio"] = figures["hark_rps"] / figures["bare_rps"]
    figures["p99_ratio"] = figures["hark_p99_ms"] / figures["bare_p99_ms"]
    return figures


def poll_wrk(args: argparse.Namespace, files: list[Path]) -> list[dict]:
    """(c2) GET /v1/transcriptions/{id} of a completed job under `wrk -t2 -c64`, next to a
    bare Starlette endpoint returning the same JSON: worker idle, then busy."""
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    results = []
    with hark_server(args.workers, args.timeout) as (url, api_key, _pid):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            job_id = submit(client, files[0])
            wait_all(client, [job_id], args.timeout)
            target = f"{url}/transcriptions/{job_id}"
            body = client.get(target).content
            with bare_endpoint(body) as bare_url:
                results.append(poll_vs_bare("idle", target, bare_url, api_key, args))
                busy_ids = [submit(client, p) for p in files * args.repeat]
                results.append(poll_vs_bare("busy", target, bare_url, api_key, args))
                last = client.get(f"/transcriptions/{busy_ids[-1]}").json()["status"]
                results[-1]["worker_busy_throughout"] = last in ("queued", "processing")
                for job in busy_ids:  # no need to wait for the batch
                    client.delete(f"/transcriptions/{job}")
    print(f"\n== (c2) status GET, wrk -t2 -c64, {args.wrk_rounds} x {args.wrk_seconds:g} s ==")
    print(f"  {'worker':<8}{'Hark req/s':>12}{'bare req/s':>12}{'ratio':>8}"
          f"{'Hark p99':>10}{'bare p99':>10}{'ratio':>8}")  # fmt: skip
    for x in results:
        ok = x["rps_ratio"] >= 0.5 and x["p99_ratio"] <= 1.5
        print(
            f"  {x['worker']:<8}{x['hark_rps']:12.0f}{x['bare_rps']:12.0f}{x['rps_ratio']:8.2f}"
            f"{x['hark_p99_ms']:10.1f}{x['bare_p99_ms']:10.1f}{x['p99_ratio']:8.2f}  "
            f"{'ok' if ok else 'BELOW'} (>= 0.5 x req/s, <= 1.5 x p99)"
        )
    return results


def fairness(args: argparse.Namespace, files: list[Path]) -> dict:
    """(d) Project A queues --fair-queue jobs; then project B submits one: B's time to
    result, next to that of the same job on an idle server, and how many of A's jobs were
    still waiting when B's finished."""
    path = min(files, key=lambda p: p.stat().st_size)
    with hark_server(args.workers, args.timeout) as (url, api_key, pid):
        made = subprocess.run(
            [sys.executable, "-m", "hark.cli", "keys", "create", "--project", "bench-b",
             "--data-dir", str(data_dir_of(pid))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        other_key = made.stdout.strip().splitlines()[-1].strip()
        a = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60)
        b = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {other_key}"}, timeout=60)
        with a, b:
            warm = submit(b, path)
            wait_all(b, [warm], args.timeout)
            start = time.perf_counter()
            alone = submit(b, path)
            wait_all(b, [alone], args.timeout)
            idle_s = time.perf_counter() - start
            queue = [submit(a, p) for p in (files * 40)[: args.fair_queue]]
            start = time.perf_counter()
            single = submit(b, path)
            wait_all(b, [single], args.timeout)
            busy_s = time.perf_counter() - start
            waiting = sum(
                a.get(f"/transcriptions/{i}").json()["status"] in ("queued", "processing")
                for i in queue
            )
            for job in queue:
                a.delete(f"/transcriptions/{job}")
    figures = {
        "queued_by_a": args.fair_queue,
        "b_alone_s": idle_s,
        "b_behind_a_s": busy_s,
        "a_jobs_unfinished_when_b_done": waiting,
    }
    print(f"\n== (d) fairness: project A queued {args.fair_queue} jobs, then B submitted one ==")
    print(f"  B's time to result: {busy_s:.2f} s (on an idle server {idle_s:.2f} s)")
    print(f"  A's jobs still queued or processing when B's finished: {waiting}")
    return figures


def extra_figures(args: argparse.Namespace, files: list[Path]) -> dict:
    figures: dict = {}
    if args.time_to_result:
        figures["time_to_result"] = time_to_result(args)
    if args.poll_wrk:
        figures["status_get_wrk"] = poll_wrk(args, files)
    if args.fairness:
        figures["fairness"] = fairness(args, files)
    return figures


# -- main ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--audio-dir", type=Path, default=DEFAULT_AUDIO, help="*.flac / *.wav files")
    p.add_argument("--repeat", type=int, default=2, help="times the set is submitted")
    p.add_argument("--workers", type=int, default=1, help="server transcription workers")
    p.add_argument("--clients", type=int, default=64, help="concurrent status-poll clients")
    p.add_argument("--status-requests", type=int, default=5000, help="GETs per latency test")
    p.add_argument(
        "--status-interval", type=float, default=0, help="each status client sends one GET per "
        "this many seconds (default 0: back to back, a closed loop)",
    )  # fmt: skip
    p.add_argument("--url", help="use this running server (loopback only), e.g. .../v1")
    p.add_argument("--api-key", default=os.environ.get("HARK_API_KEY"), help="for --url")
    p.add_argument("--server-pid", type=int, help="with --url: pid whose peak RSS to report")
    p.add_argument("--timeout", type=float, default=900, help="limit for each phase, seconds")
    p.add_argument("--json", type=Path, help="also write the figures here")
    extra = p.add_argument_group("issue 18 figures (any of these runs only those)")
    extra.add_argument("--time-to-result", action="store_true", help="(c) one file at a time")
    extra.add_argument("--ttr-file", type=Path, default=TTR_FILE, help="for --time-to-result")
    extra.add_argument("--ttr-repeat", type=int, default=7, help="runs for --time-to-result")
    extra.add_argument("--ttr-poll", type=float, default=0.02, help="poll interval, seconds")
    extra.add_argument("--poll-wrk", action="store_true", help="(c2) status GET under wrk")
    extra.add_argument("--wrk-seconds", type=float, default=10, help="each wrk run")
    extra.add_argument("--wrk-rounds", type=int, default=3, help="wrk runs per side")
    extra.add_argument("--fairness", action="store_true", help="(d) two projects")
    extra.add_argument("--fair-queue", type=int, default=40, help="project A's queued jobs")
    extra.add_argument(
        "--quick", action="store_true", help="tiny figures, for checking the script runs"
    )
    args = p.parse_args()
    if args.quick:
        args.ttr_repeat, args.wrk_seconds, args.wrk_rounds, args.fair_queue = 2, 2, 1, 4
        args.repeat = 1
    if args.url and (urlsplit(args.url).hostname not in LOOPBACK or not args.api_key):
        p.error("--url must be a loopback address, and needs --api-key (or HARK_API_KEY)")
    if min(args.repeat, args.workers, args.clients, args.status_requests) < 1:
        p.error("--repeat, --workers, --clients and --status-requests must be at least 1")
    if args.status_interval < 0:
        p.error("--status-interval must not be negative")
    return args


def main() -> None:
    # Imported here, not at the top: the baseline's child process re-imports this module,
    # and the job layer (SQLAlchemy, ...) would add ~40 MiB to the baseline's peak RSS.
    from hark.jobs import engine_config
    from hark.settings import Settings

    args = parse_args()
    files = sorted(p for p in args.audio_dir.iterdir() if p.suffix in (".flac", ".wav"))
    if not files:
        sys.exit(f"no .flac/.wav files in {args.audio_dir}")
    if args.time_to_result or args.poll_wrk or args.fairness:
        figures = extra_figures(args, files[:3] if args.quick else files)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return
    durations = {p: len(decode_audio(p)) / SAMPLE_RATE for p in files}
    shortest = min(files, key=durations.__getitem__)
    batch = files * args.repeat
    audio_s = sum(durations[p] for p in batch)
    config = engine_config(Settings(workers=args.workers))
    print(f"{len(files)} files x {args.repeat} = {audio_s:.1f} s of audio; engine {config}")

    print("raw engine baseline ...", flush=True)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        job = pool.submit(run_baseline, config, [str(p) for p in batch], str(shortest))
        base_s, base_rss = job.result(timeout=args.timeout)
    print(f"  {base_s:.2f} s -> {audio_s / base_s:.2f} audio-s/s", flush=True)

    with (
        hark_server(args.workers, args.timeout)
        if args.url is None
        else external_server(args.url, args.api_key, args.server_pid)
    ) as (url, api_key, pid):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            print("warm-up job (model load) ...", flush=True)
            warm_id = submit(client, shortest)
            warm = wait_all(client, [warm_id], args.timeout)[warm_id]
            if warm["status"] != "completed":
                sys.exit(f"the warm-up job failed: {warm['error_type']}: {warm['error_message']}")

            print("status latency, worker idle ...", flush=True)
            idle = status_latency("idle", url, api_key, [warm_id], args)

            print("end-to-end throughput ...", flush=True)
            start = time.perf_counter()
            ids = [submit(client, p) for p in batch]
            submitted_s = time.perf_counter() - start
            finished = wait_all(client, ids, args.timeout)
            e2e_s = time.perf_counter() - start
            failed = {i: j for i, j in finished.items() if j["status"] != "completed"}
            print(f"  {e2e_s:.2f} s (submitting took {submitted_s:.2f} s)", flush=True)

            print("status latency, worker busy ...", flush=True)
            busy_ids = [submit(client, p) for p in batch]
            deadline = time.monotonic() + args.timeout
            first = f"/transcriptions/{busy_ids[0]}"
            while client.get(first).raise_for_status().json()["status"] == "queued":
                if time.monotonic() > deadline:
                    sys.exit("the busy batch never started")
                time.sleep(0.05)
            busy = status_latency("busy", url, api_key, busy_ids, args)
            last = client.get(f"/transcriptions/{busy_ids[-1]}").json()["status"]
            busy.worker_busy_throughout = last in ("queued", "processing")
            finished_busy = wait_all(client, busy_ids, args.timeout)
            failed |= {i: j for i, j in finished_busy.items() if j["status"] != "completed"}
        server_rss = peak_rss(pid) if pid else None

    e2e_speed, base_speed = audio_s / e2e_s, audio_s / base_s
    report(args, audio_s, base_s, e2e_s, idle, busy, server_rss, base_rss, failed)
    if args.json:
        figures = {
            "files": len(files), "repeat": args.repeat, "workers": args.workers,
            "audio_s": audio_s, "engine": asdict(config),
            "baseline_s": base_s, "baseline_audio_s_per_s": base_speed,
            "e2e_s": e2e_s, "e2e_audio_s_per_s": e2e_speed, "e2e_ratio": e2e_speed / base_speed,
            "jobs_failed": {i: j.get("error_message") for i, j in failed.items()},
            "status_latency": [asdict(x) | {"rps": x.rps} for x in (idle, busy)],
            "clients": args.clients, "status_interval_s": args.status_interval,
            "server_peak_rss_bytes": server_rss, "baseline_peak_rss_bytes": base_rss,
        }  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def report(
    args: argparse.Namespace,
    audio_s: float,
    base_s: float,
    e2e_s: float,
    idle: Latency,
    busy: Latency,
    server_rss: int | None,
    base_rss: int,
    failed: dict[str, dict],
) -> None:
    def mib(n: int | None) -> str:
        return "n/a" if n is None else f"{n / 2**20:.0f} MiB"

    ratio = base_s / e2e_s
    print(f"\n== Hark throughput ({args.workers} worker(s), {audio_s:.1f} s of audio) ==")
    print(f"{'raw engine':<22}{audio_s / base_s:8.2f} audio-s/s   ({base_s:.2f} s)")
    print(f"{'end-to-end (API)':<22}{audio_s / e2e_s:8.2f} audio-s/s   ({e2e_s:.2f} s)")
    verdict = "ok" if ratio >= 0.9 else "BELOW"
    print(f"{'ratio e2e / raw':<22}{ratio:8.2f} x           {verdict} (target >= 0.9 x)")
    pacing = f"1 per {args.status_interval:g} s each" if args.status_interval else "back to back"
    print(f"\nstatus GET, {args.clients} clients, {pacing}")
    print(f"  {'worker':<10}{'p50':>8}{'p90':>8}{'p99':>8}{'max ms':>9}{'req/s':>8}{'errors':>8}")
    for x in (idle, busy):
        note = "" if x.worker_busy_throughout in (None, True) else "  (batch ended early)"
        verdict = "ok" if x.p99_ms <= 20 else "p99 > 20 ms"
        print(
            f"  {x.label:<10}{x.p50_ms:8.1f}{x.p90_ms:8.1f}{x.p99_ms:8.1f}{x.max_ms:9.1f}"
            f"{x.rps:8.0f}{x.errors:8d}  {verdict}{note}"
        )
    print(f"\npeak RSS: server {mib(server_rss)}, raw engine {mib(base_rss)}")
    if failed:
        print(f"\n{len(failed)} job(s) did not complete:")
        for job_id, job in failed.items():
            print(f"  {job_id} {job['filename']}: {job['error_type']}: {job['error_message']}")
    else:
        print("all jobs completed")


if __name__ == "__main__":
    main()

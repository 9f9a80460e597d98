"""The OpenAI door next to the native API and the raw engine, on the same files, in one run.

1. raw engine: faster-whisper directly (throughput.run_baseline, in a child process);
2. a `hark serve` (throughput.hark_server); per file, alternately, one request through the
   native flow (upload, create, poll, transcript) and one through the door
   (`openai` SDK, `audio.transcriptions.create`, json): the door's overhead over the native
   flow is the median of the per-file differences (target <= 50 ms);
3. throughput with `--callers` concurrent callers (threads), native and door, in
   audio-seconds per wall-second.

speaches (the peer) is not run: it cannot be installed offline here.

    HF_HUB_OFFLINE=1 python benchmarks/openai_door.py [--rounds 3] [--json out.json]
    HF_HUB_OFFLINE=1 python benchmarks/openai_door.py --quick    # a smoke run: 2 files
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx
import openai

from hark.engine import SAMPLE_RATE, decode_audio
from throughput import DEFAULT_AUDIO, hark_server, run_baseline, submit

# The door's own polling schedule (api/openai.py), used by the native flow too: a fair race.
FIRST_POLL, MAX_POLL = 0.02, 0.25


def native(client: httpx.Client, path: Path) -> str:
    """Upload, create, poll, fetch the transcript: the native flow, start to end."""
    job_id = submit(client, path)
    delay = FIRST_POLL
    while (job := client.get(f"/transcriptions/{job_id}").json())["status"] not in (
        "completed",
        "error",
    ):
        time.sleep(delay)
        delay = min(delay * 1.5, MAX_POLL)
    if job["status"] != "completed":
        sys.exit(f"native job failed: {job['error_message']}")
    text = client.get(f"/transcriptions/{job_id}/transcript").json()["text"]
    client.delete(f"/transcriptions/{job_id}")  # as the door cleans up after itself
    client.delete(f"/files/{job['file_id']}")
    return text


def door(client: openai.OpenAI, path: Path) -> str:
    return client.audio.transcriptions.create(model="whisper-1", file=path).text


def timed(call, *args) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def throughput(call, client, files: list[Path], callers: int, audio_s: float) -> float:
    """Audio-seconds per wall-second with `callers` requests in flight at once."""
    start = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(lambda path: call(client, path), files))
    return audio_s / (time.perf_counter() - start)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--audio-dir", type=Path, default=DEFAULT_AUDIO, help="*.flac / *.wav files")
    p.add_argument("--rounds", type=int, default=3, help="per-file request pairs")
    p.add_argument("--callers", type=int, default=4, help="concurrent callers, throughput")
    p.add_argument("--workers", type=int, default=1, help="server transcription workers")
    p.add_argument("--timeout", type=float, default=900, help="server start-up limit, seconds")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 files, 1 round")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args()


def main() -> None:
    from hark.jobs import engine_config  # not at the top: see throughput.main
    from hark.settings import Settings

    args = parse_args()
    files = sorted(p for p in args.audio_dir.iterdir() if p.suffix in (".flac", ".wav"))
    if args.quick:
        files, args.rounds = files[:2], 1
    if not files:
        sys.exit(f"no .flac/.wav files in {args.audio_dir}")
    durations = {p: len(decode_audio(p)) / SAMPLE_RATE for p in files}
    audio_s = sum(durations.values())
    config = engine_config(Settings(workers=args.workers))
    print(f"{len(files)} files, {audio_s:.1f} s of audio; {args.rounds} rounds")

    print("raw engine ...", flush=True)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = [str(p) for p in files]
        raw_s, _ = pool.submit(run_baseline, config, paths, paths[0]).result()

    with hark_server(args.workers, args.timeout) as (url, api_key, _):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=600) as api:
            sdk = openai.OpenAI(base_url=url, api_key=api_key, max_retries=0, timeout=600)
            native(api, files[0])  # warm-up: the model loads
            print("per request, one at a time ...", flush=True)
            native_s: list[float] = []
            door_s: list[float] = []
            for _ in range(args.rounds):
                for path in files:
                    native_s.append(timed(native, api, path))
                    door_s.append(timed(door, sdk, path))
            overhead = [d - n for d, n in zip(door_s, native_s, strict=True)]
            print(f"{args.callers} concurrent callers ...", flush=True)
            native_rate = throughput(native, api, files, args.callers, audio_s)
            door_rate = throughput(door, sdk, files, args.callers, audio_s)

    figures = {
        "files": len(files),
        "audio_s": round(audio_s, 2),
        "rounds": args.rounds,
        "raw_engine_s_per_file": round(raw_s / len(files), 3),
        "native_s_per_file_median": round(statistics.median(native_s), 3),
        "door_s_per_file_median": round(statistics.median(door_s), 3),
        "door_overhead_ms_median": round(1000 * statistics.median(overhead), 1),
        "raw_engine_audio_s_per_s": round(audio_s / raw_s, 2),
        "native_audio_s_per_s": round(native_rate, 2),
        "door_audio_s_per_s": round(door_rate, 2),
        "callers": args.callers,
        "speaches": "not run (cannot be installed offline here)",
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

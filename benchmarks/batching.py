"""The batching scheduler's figures (issue 18: (a), (b), (e), (f)), CPU or CUDA.

(a) a queue of jobs submitted at once: Hark end to end vs the raw engine looping over the
    files with the server's settings vs faster-whisper's BatchedInferencePipeline file by
    file (targets: >= 1.5x the raw engine, ahead of the batched pipeline);
(b) one job at a time through Hark vs the raw engine (target >= 0.95x);
(e) peak RSS above the loaded models while transcribing a generated 1-hour and 5-hour
    recording (target < 1.5 GiB), optionally with diarization;
(f) CPU settings: CTranslate2 threads x batch size x jobs in flight, engine only.

    HF_HUB_OFFLINE=1 python benchmarks/batching.py                # everything, on the CPU
    HF_HUB_OFFLINE=1 python benchmarks/batching.py --quick        # a smoke run (minutes)
    HF_HUB_OFFLINE=1 python benchmarks/batching.py --device cuda  # the same on a GPU
    python benchmarks/batching.py --parts a,b --json out.json

Every figure of one run comes from the same machine in the same run; the raw and batched
pipeline baselines run in child processes before the server starts. Settings the server
uses come from the usual HARK_* variables (HARK_BATCH_SIZE, HARK_BATCH_JOBS, ...).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from hark.engine import SAMPLE_RATE, EngineConfig, decode_audio
from hark.engine.asr import resolve_model
from scoring import normalize
from throughput import DEFAULT_AUDIO, hark_server, run_baseline, submit, wait_all

REPO_ROOT = Path(__file__).resolve().parent.parent
LONGFORM = REPO_ROOT.parent / "shared" / "audio" / "longform" / "voxpopuli-en-000.ogg"
SPAWN = multiprocessing.get_context("spawn")


def in_child(function, *args, timeout: float):
    """Run `function(*args)` in a fresh process: its own model, its own peak RSS."""
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        return pool.submit(function, *args).result(timeout=timeout)


# -- baselines ------------------------------------------------------------------------------


def run_batched_pipeline(config: EngineConfig, files: list[str], warm_up: str) -> float:
    """faster-whisper's BatchedInferencePipeline, file by file (batches within a file)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(
        resolve_model(config.model),
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
    )
    pipeline = BatchedInferencePipeline(model)

    def transcribe(path: str) -> None:
        segments, _ = pipeline.transcribe(
            path,
            beam_size=config.beam_size,
            word_timestamps=True,
            batch_size=max(config.batch_size, 8),
        )
        for _ in segments:
            pass

    transcribe(warm_up)
    start = time.perf_counter()
    for path in files:
        transcribe(path)
    return time.perf_counter() - start


def run_engine_threads(config: EngineConfig, files: list[str], jobs: int, warm_up: str) -> float:
    """Hark's engine alone (no server): `jobs` threads transcribing the files."""
    from hark.engine import get_pipeline

    pipeline = get_pipeline(config)
    pipeline.transcribe_file(warm_up)
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(pipeline.transcribe_file, files))
    return time.perf_counter() - start


def run_long_file(config: EngineConfig, path: str, diarize: bool, asr: bool = True) -> dict:
    """Peak RSS (VmHWM) above what the loaded models and a warm-up job already took. Without
    `asr`: decoding and diarization only (the engine's own steps, as a job runs them)."""
    from hark.engine import TranscribeOptions, get_pipeline
    from hark.engine.diarization import get_diarizer

    if not asr:
        diarizer = get_diarizer(config)
        diarizer.diarize(decode_audio(LONGFORM))  # loads the models, warms them up
        before = vm_hwm()
        start = time.perf_counter()
        turns = diarizer.diarize(decode_audio(path))
        return {
            "seconds": time.perf_counter() - start,
            "turns": len(turns),
            "speakers": len({t.speaker for t in turns}),
            "models_rss_bytes": before,
            "peak_above_models_bytes": vm_hwm() - before,
        }
    pipeline = get_pipeline(config)
    options = TranscribeOptions(diarize=diarize)
    pipeline.transcribe_file(str(LONGFORM), options)  # loads the models, warms them up
    before = vm_hwm()
    start = time.perf_counter()
    transcript = pipeline.transcribe_file(path, options)
    return {
        "seconds": time.perf_counter() - start,
        "words": len(transcript.tokens),
        "models_rss_bytes": before,
        "peak_above_models_bytes": vm_hwm() - before,
    }


def vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def long_recording(hours: float, directory: Path) -> Path:
    """A WAV of real speech (the long-form recording, repeated) written block by block."""
    path = directory / f"long-{hours:g}h.wav"
    if path.exists():
        return path
    pcm = (np.asarray(decode_audio(LONGFORM)) * 32767).astype("<i2").tobytes()
    total = int(hours * 3600 * SAMPLE_RATE) * 2
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        written = 0
        while written < total:
            block = pcm[: total - written]
            out.writeframes(block)
            written += len(block)
    return path


def wait_one(client: httpx.Client, job_id: str, timeout: float) -> dict:
    """Poll one job every 20 ms (wait_all's 250 ms would dwarf a short job's overhead)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/transcriptions/{job_id}").raise_for_status().json()
        if job["status"] in ("completed", "error"):
            return job
        time.sleep(0.02)
    sys.exit(f"transcription {job_id} unfinished after {timeout:.0f}s")


# -- parts ----------------------------------------------------------------------------------


def part_a_b(args: argparse.Namespace, config: EngineConfig, files: list[Path]) -> dict:
    durations = {p: len(decode_audio(p)) / SAMPLE_RATE for p in files}
    queue = (files * (args.jobs // len(files) + 1))[: args.jobs]
    audio_s = sum(durations[p] for p in queue)
    warm = str(min(files, key=durations.__getitem__))
    names = [str(p) for p in queue]
    print(f"(a)/(b): {len(queue)} jobs, {audio_s:.1f} s of audio; engine {config}", flush=True)
    raw_s, _ = in_child(run_baseline, config, names, warm, timeout=args.timeout)
    print(f"  raw engine, sequential     {audio_s / raw_s:7.2f} audio-s/s", flush=True)
    pipe_s = in_child(run_batched_pipeline, config, names, warm, timeout=args.timeout)
    print(f"  BatchedInferencePipeline   {audio_s / pipe_s:7.2f} audio-s/s", flush=True)
    with hark_server(args.workers, args.timeout) as (url, api_key, _):
        headers = {"Authorization": f"Bearer {api_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            wait_all(client, [submit(client, Path(warm))], args.timeout)  # model load
            start = time.perf_counter()
            ids = [submit(client, p) for p in queue]
            done = wait_all(client, ids, args.timeout)
            queue_s = time.perf_counter() - start
            start = time.perf_counter()
            for p in queue:
                job = wait_one(client, submit(client, p), args.timeout)
                done[job["id"]] = job
            single_s = time.perf_counter() - start
    failed = sorted(j["id"] for j in done.values() if j["status"] != "completed")
    figures = {
        "jobs": len(queue), "audio_s": audio_s, "raw_s": raw_s, "batched_pipeline_s": pipe_s,
        "hark_queue_s": queue_s, "hark_one_at_a_time_s": single_s,
        "a_ratio_vs_raw": raw_s / queue_s, "a_ratio_vs_batched_pipeline": pipe_s / queue_s,
        "b_ratio_vs_raw": raw_s / single_s, "failed": failed,
    }  # fmt: skip
    print(f"  Hark, all at once          {audio_s / queue_s:7.2f} audio-s/s", flush=True)
    print(f"  Hark, one at a time        {audio_s / single_s:7.2f} audio-s/s", flush=True)
    a, b = figures["a_ratio_vs_raw"], figures["b_ratio_vs_raw"]
    ahead = figures["a_ratio_vs_batched_pipeline"]
    print(f"  (a) {a:.2f}x raw (target >= 1.5), {ahead:.2f}x the batched pipeline (> 1)")
    print(f"  (b) {b:.2f}x raw (target >= 0.95)   failed jobs: {len(failed)}")
    return figures


def part_e(args: argparse.Namespace, config: EngineConfig) -> dict:
    figures = {}
    scratch = Path(args.scratch_dir or tempfile.gettempdir())
    for hours in args.hours:
        path = long_recording(hours, scratch)
        asr = not args.diarize_only
        diarize = args.diarize or args.diarize_only
        result = in_child(run_long_file, config, str(path), diarize, asr, timeout=args.timeout)
        figures[f"{hours:g}h"] = result
        above = result["peak_above_models_bytes"] / 2**30
        verdict = "ok" if above < 1.5 else "ABOVE"
        what = (
            "decode + diarize" if not asr else "transcribe + diarize" if diarize else "transcribe"
        )
        found = (
            f"{result['words']} words"
            if asr
            else f"{result['turns']} turns, {result['speakers']} speakers"
        )
        print(
            f"(e) {hours:g} h, {what}: peak RSS {above:.2f} GiB above the models "
            f"({result['models_rss_bytes'] / 2**30:.2f} GiB), {result['seconds']:.0f} s, "
            f"{found}  {verdict} (target < 1.5 GiB)",
            flush=True,
        )
    return figures


def part_f(args: argparse.Namespace, config: EngineConfig, files: list[Path]) -> list[dict]:
    from dataclasses import replace

    queue = (files * (args.jobs // len(files) + 1))[: args.jobs]
    audio_s = sum(len(decode_audio(p)) / SAMPLE_RATE for p in queue)
    names, warm = [str(p) for p in queue], str(files[0])
    rows = []
    print(f"(f) engine only, {len(queue)} jobs, {audio_s:.1f} s of audio", flush=True)
    print(f"  {'threads':>8}{'batch':>7}{'jobs':>6}{'audio-s/s':>11}")
    for threads, batch, jobs in args.grid:
        trial = replace(config, cpu_threads=threads, batch_size=batch, num_workers=1)
        seconds = in_child(run_engine_threads, trial, names, jobs, warm, timeout=args.timeout)
        rows.append({"cpu_threads": threads, "batch_size": batch, "jobs": jobs, "s": seconds})
        print(f"  {threads:>8}{batch:>7}{jobs:>6}{audio_s / seconds:11.2f}", flush=True)
    return rows


def run_accuracy(config: EngineConfig, files: list[tuple[str, str]], full_input: bool) -> dict:
    """The scheduler over `files` (path, reference), 4 jobs at a time, with the shortened
    encoder input or (`full_input`) Whisper's padded 30 s: WER and each word's times."""
    import jiwer

    from hark.engine import batching, get_pipeline

    if full_input:
        batching.encoder_frames = lambda seconds, pad_s: 3000
    pipeline = get_pipeline(config)
    pipeline.transcribe_file(files[0][0])
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        transcripts = list(pool.map(lambda f: pipeline.transcribe_file(f[0]), files))
    seconds = time.perf_counter() - start
    wer = jiwer.wer([normalize(ref) for _, ref in files], [normalize(t.text) for t in transcripts])
    words = [[(t.text, t.start_ms, t.end_ms) for t in tr.tokens] for tr in transcripts]
    return {"seconds": seconds, "wer": wer, "words": words}


def part_w(args: argparse.Namespace, config: EngineConfig) -> dict:
    """Accuracy of the shortened encoder input against the full 30 s, through the scheduler,
    on every English recording with a reference (mono, under 2 minutes) in ../shared/audio."""
    root = DEFAULT_AUDIO.parent.parent
    files = []
    for line in (root / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        reference = (root / entry["file"]).with_suffix(".txt")
        mono = entry.get("channels", 1) == 1
        if entry["language"] == "en" and entry["duration_s"] < 120 and mono and reference.exists():
            files.append((str(root / entry["file"]), reference.read_text()))
    runs = {
        name: in_child(run_accuracy, config, files, name == "full", timeout=args.timeout)
        for name in ("full", "shortened")
    }
    full, short = runs["full"], runs["shortened"]
    differing, gaps = 0, []
    for a, b in zip(full["words"], short["words"], strict=True):
        if [w[0] for w in a] != [w[0] for w in b]:
            differing += 1
            continue
        gaps += [abs(x[i] - y[i]) for x, y in zip(a, b, strict=True) for i in (1, 2)]
    gaps.sort()
    figures = {
        "files": len(files), "wer_full": full["wer"], "wer_shortened": short["wer"],
        "seconds_full": full["seconds"], "seconds_shortened": short["seconds"],
        "files_differing": differing, "timing_median_ms": gaps[len(gaps) // 2] if gaps else None,
        "timing_p95_ms": gaps[int(len(gaps) * 0.95)] if gaps else None,
        "timing_max_ms": gaps[-1] if gaps else None,
    }  # fmt: skip
    print(f"(w) {len(files)} English recordings, the scheduler's encoder input 30 s / shortened:")
    print(f"  WER {full['wer']:.2%} / {short['wer']:.2%}; {full['seconds']:.1f} s / "
          f"{short['seconds']:.1f} s ({full['seconds'] / short['seconds']:.2f}x)")  # fmt: skip
    print(f"  {differing} files' words differ (case and punctuation count); timings of the "
          f"rest: median {figures['timing_median_ms']} ms, p95 {figures['timing_p95_ms']} ms, "
          f"max {figures['timing_max_ms']} ms", flush=True)  # fmt: skip
    return figures


# -- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--audio-dir", type=Path, default=DEFAULT_AUDIO, help="*.flac / *.wav files")
    p.add_argument("--jobs", type=int, default=20, help="jobs in the queue of (a), (b), (f)")
    p.add_argument(
        "--parts", default="a,e,f,w", help="which of a (with b), e, f, w (accuracy) to run"
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default=os.environ.get("HARK_DEVICE"))
    p.add_argument("--hours", type=float, nargs="+", default=[1, 5], help="(e) lengths")
    p.add_argument("--diarize", action="store_true", help="(e) with speaker diarization")
    p.add_argument(
        "--diarize-only", action="store_true", help="(e) decoding and diarization, no recognition"
    )
    p.add_argument("--scratch-dir", help="(e) where the generated recordings go (/tmp)")
    p.add_argument("--workers", type=int, default=1, help="HARK_WORKERS of the server")
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 jobs, 2 min, 2 settings")
    p.add_argument("--timeout", type=float, default=7200, help="limit for each step, seconds")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    if args.device:
        os.environ["HARK_DEVICE"] = args.device  # the server and every child read it
        if args.device == "cuda":
            os.environ.setdefault("HARK_COMPUTE_TYPE", "float16")
    cores = os.cpu_count() or 2
    args.grid = [(cores, 1, 1), (cores, 8, 4), (cores, 16, 8), (cores // 2 or 1, 8, 4)]
    if args.device == "cuda":  # threads matter little there; batch size and jobs do
        args.grid = [(4, 1, 1), (4, 8, 4), (4, 16, 8), (4, 32, 16), (4, 64, 32)]
    if args.quick:
        args.jobs, args.hours = 4, [2 / 60]
        args.grid = [(cores, 1, 1), (cores, 8, 4)]
    return args


def main() -> None:
    from hark.jobs import engine_config
    from hark.settings import Settings

    args = parse_args()
    files = sorted(p for p in args.audio_dir.iterdir() if p.suffix in (".flac", ".wav"))
    if not files:
        sys.exit(f"no .flac/.wav files in {args.audio_dir}")
    config = engine_config(Settings(workers=args.workers))
    parts = set(args.parts.split(","))
    figures: dict[str, object] = {"engine": config.__dict__, "quick": args.quick}
    if "a" in parts:
        figures["a_b"] = part_a_b(args, config, files)
    if "e" in parts:
        figures["e"] = part_e(args, config)
    if "f" in parts:
        figures["f"] = part_f(args, config, files)
    if "w" in parts:
        figures["w"] = part_w(args, config)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()

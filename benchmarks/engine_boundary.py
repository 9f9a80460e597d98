"""The cost of the engine process boundary: the pipeline called in this process (raw) against
the same pipeline behind `EngineProcess` (a spawned child; requests, progress and results
over a pipe), on the same machine, one job at a time.

  time to result   one ~10 s file (dev-clean 1272-141231-0002.flac, 13.3 s), the median of
                   --repeat runs each way; the overhead in ms (target <= 150 ms)
  throughput       the audio set transcribed one file after the other, audio-s per wall-s each
                   way; the ratio (target >= 0.95x)

Runs alternate (raw then process, then the other way round) so drift in machine load hits
both alike. Engine settings come from the usual HARK_* variables.

    HF_HUB_OFFLINE=1 python benchmarks/engine_boundary.py [--repeat 5] [--json out.json]
    HF_HUB_OFFLINE=1 python benchmarks/engine_boundary.py --quick   # smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from hark.engine import (
    SAMPLE_RATE,
    EngineProcess,
    Pipeline,
    TranscribeOptions,
    decode_audio,
    get_pipeline,
)
from hark.jobs import engine_config
from hark.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_CLEAN = REPO_ROOT.parent / "shared" / "audio" / "librispeech" / "dev-clean"
TEN_SECONDS = DEV_CLEAN / "1272-141231-0002.flac"


def timed(engine: Pipeline | EngineProcess, path: Path) -> float:
    """Seconds from the call to the transcript, with progress reported as the runner asks."""
    started = time.perf_counter()
    transcript = engine.transcribe_file(path, TranscribeOptions(), on_progress=lambda _: None)
    assert transcript.text
    return time.perf_counter() - started


def alternating(raw: Pipeline, child: EngineProcess, path: Path, index: int) -> tuple[float, float]:
    if index % 2:
        proc = timed(child, path)
        return timed(raw, path), proc
    first = timed(raw, path)
    return first, timed(child, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio-dir", type=Path, default=DEV_CLEAN)
    parser.add_argument("--file", type=Path, default=TEN_SECONDS, help="the time-to-result file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 run, 2 files: a smoke run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = sorted(args.audio_dir.glob("*.flac"))
    repeat = 1 if args.quick else args.repeat
    if args.quick:
        files = files[:2]
    audio_s = sum(len(decode_audio(f)) / SAMPLE_RATE for f in files)

    config = engine_config(Settings())
    raw = get_pipeline(config)
    child = EngineProcess(config)
    try:
        info = child.wait_ready()
        for engine in (raw, child):  # warm-up: first-call costs stay out of the figures
            timed(engine, args.file)

        pairs = [alternating(raw, child, args.file, i) for i in range(repeat)]
        raw_ttr = statistics.median(p[0] for p in pairs)
        proc_ttr = statistics.median(p[1] for p in pairs)

        totals = [0.0, 0.0]
        for i in range(repeat):
            for j, path in enumerate(files):
                raw_s, proc_s = alternating(raw, child, path, i + j)
                totals[0] += raw_s
                totals[1] += proc_s
        raw_rate, proc_rate = (audio_s * repeat / t for t in totals)
    finally:
        child.stop()

    figures = {
        "engine": {k: v for k, v in info.items() if k != "pid"},
        "time_to_result": {
            "file": args.file.name,
            "runs": repeat,
            "raw_ms": round(raw_ttr * 1000, 1),
            "process_ms": round(proc_ttr * 1000, 1),
            "overhead_ms": round((proc_ttr - raw_ttr) * 1000, 1),
            "target_overhead_ms": 150,
        },
        "throughput": {
            "files": len(files),
            "audio_s": round(audio_s * repeat, 1),
            "raw_audio_s_per_s": round(raw_rate, 2),
            "process_audio_s_per_s": round(proc_rate, 2),
            "ratio": round(proc_rate / raw_rate, 3),
            "target_ratio": 0.95,
        },
    }
    ttr, rate = figures["time_to_result"], figures["throughput"]
    print(f"engine: {figures['engine']}")
    print(
        f"time to result ({ttr['file']}, median of {repeat}): raw {ttr['raw_ms']} ms, "
        f"engine process {ttr['process_ms']} ms, overhead {ttr['overhead_ms']} ms (target <= 150)"
    )
    print(
        f"throughput ({rate['files']} files x {repeat}, {rate['audio_s']} audio-s): raw "
        f"{rate['raw_audio_s_per_s']}, engine process {rate['process_audio_s_per_s']} "
        f"audio-s/s, ratio {rate['ratio']} (target >= 0.95)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":  # the engine process is spawned: it re-imports this module
    main()

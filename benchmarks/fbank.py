"""Speed of senko's filterbank features on both paths (HARK_DIARIZATION_FEATURES): senko's
native AVX-512 extractor, where this CPU runs it, and the portable kaldi-native-fbank one.

Each recording is cut into the subsegments senko embeds (1.5 s windows every 0.6 s, as
`Diarizer._generate_subsegments` makes them over the whole recording) and both paths compute
their features, `--repeat` times after one untimed run. Speed is audio-seconds of recording
per wall-second (subsegments overlap, so each path computes 2.5x that much audio); the
difference between the paths is shown too.

    HF_HUB_OFFLINE=1 python benchmarks/fbank.py [--quick] [--repeat N] [FILE ...]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from hark.engine import decode_audio
from hark.engine.features import choose, cpu_flags, portable_fbank

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "audio"
DEFAULT = [
    SHARED / "longform" / "voxpopuli-en-000.ogg",
    *sorted((SHARED / "diarization").rglob("*.wav")),
]


def timed(extract, repeat: int, *args) -> tuple[float, tuple]:
    """Seconds per call of `extract(*args)` and its result."""
    result = extract(*args)  # untimed: caches, first-call costs
    started = time.perf_counter()
    for _ in range(repeat):
        extract(*args)
    return (time.perf_counter() - started) / repeat, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one short file, one repeat")
    args = parser.parse_args()
    files = args.files or DEFAULT
    if args.quick:
        files, args.repeat = [SHARED / "diarization" / "pyannote_sample" / "sample.wav"], 1

    import senko

    machine = platform.machine()
    path, reason = choose("auto", machine, cpu_flags())
    native = path == "native"
    print(f"CPU: {machine}; auto picks {path} ({reason})")
    diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)

    totals = {"audio_s": 0.0, "native_s": 0.0, "portable_s": 0.0}
    print(f"\n{'recording':34} {'audio s':>8} {'native':>10} {'portable':>10}  max|diff|")
    for file in files:
        audio = decode_audio(file)
        seconds = len(audio) / 16_000
        subsegments = diarizer._generate_subsegments([(0.0, seconds)], False)
        portable_s, portable = timed(portable_fbank, args.repeat, audio, subsegments)
        cells = ["—", f"{seconds / portable_s:>8.0f}x", "—"]
        totals["audio_s"] += seconds
        totals["portable_s"] += portable_s
        if native:
            native_s, features = timed(
                diarizer._extract_fbank_features, args.repeat, audio, subsegments
            )
            totals["native_s"] += native_s
            cells[0] = f"{seconds / native_s:>8.0f}x"
            cells[2] = f"{_max_difference(features, portable):.3f}"
        print(f"{file.name:34} {seconds:>8.1f} {cells[0]:>10} {cells[1]:>10}  {cells[2]}")
    audio_s = totals["audio_s"]
    native_total = f"{audio_s / totals['native_s']:>8.0f}x" if totals["native_s"] else "—"
    portable_total = f"{audio_s / totals['portable_s']:>8.0f}x"
    print(f"{'all (audio-s per s)':34} {audio_s:>8.1f} {native_total:>10} {portable_total:>10}")
    if not native:
        print("(senko's native extractor needs AVX-512 F/BW/DQ/VL: not run on this CPU)")


def _max_difference(native: tuple, portable: tuple) -> float:
    """The largest feature difference, subsegment by subsegment (the native extractor
    fills its output in thread order: each subsegment is found by its offset)."""
    worst = 0.0
    for a, b, frames in zip(native[2], portable[2], native[1], strict=True):
        size = int(frames) * native[3]
        diff = np.abs(native[0][int(a) : int(a) + size] - portable[0][int(b) : int(b) + size])
        worst = max(worst, float(diff.max(initial=0.0)))
    return worst


if __name__ == "__main__":
    main()

"""Speaker, channel and translation quality of Hark, against senko run directly.

1. Diarization error rate (pyannote.metrics, 0.25 s collar, overlap scored) on every
   recording in ../shared/audio/diarization/ that has an RTTM reference, for
   - senko run directly on a 16 kHz 16-bit WAV of the recording (its documented use),
   - senko on the same samples with Hark's portable filterbank features (kaldi-native-fbank,
     HARK_DIARIZATION_FEATURES=portable) instead of its native AVX-512 extractor, and
   - Hark end to end: upload, transcribe with `enable_speaker_diarization`, and score the
     speaker turns of the transcript's words (`--features` picks the server's path).
2. Word-level speaker accuracy of Hark on pyannote_sample/sample.wav against its STM.
3. Per-channel recognition of telephony/stereo_diarization.wav: each channel's sentence
   under its own channel (WER per channel).
4. Translation: jfk.flac one_way -> es and two_way en<->es through the API; OPUS-MT zh->en
   on a Chinese sentence at the engine level.

    HF_HUB_OFFLINE=1 python benchmarks/quality.py [--json out.json] [--features portable]
    HF_HUB_OFFLINE=1 python benchmarks/quality.py --direct-only [--quick]  # senko paths only

Needs the `bench` extra (pyannote.metrics) and, for translation, Apertium's en<->es pair
(`apt-get install apertium apertium-eng-spa`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx
import jiwer
import numpy as np

from hark.engine import decode_audio
from hark.engine.diarization import SenkoDiarizer
from hark.engine.features import MODES
from hark.engine.translation import CTranslate2Translator, Sentence
from scoring import (
    Turn,
    read_rttm,
    read_stm,
    read_uem,
    token_words,
    turns_from_tokens,
    word_speaker_accuracy,
    words,
)
from throughput import hark_server, submit, wait_all

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DIARIZATION = SHARED / "audio" / "diarization"
COLLAR = 0.25
SENKO_MERGE_GAP_MS = 4000  # senko merges a speaker's segments across gaps up to 4 s


def dev_set() -> list[tuple[Path, list[Turn], tuple[float, float] | None]]:
    """(recording, reference turns, scored region) for every RTTM-referenced recording."""
    items = []
    for rttm in sorted(DIARIZATION.rglob("*.rttm")):
        uem_path = rttm.with_suffix(".uem")
        regions = read_uem(uem_path) if uem_path.exists() else {}
        for uri, turns in read_rttm(rttm).items():
            wav = rttm.parent / f"{uri}.wav"
            if wav.exists():
                items.append((wav, turns, regions.get(uri)))
    return items


class DER:
    """pyannote.metrics' diarization error rate, accumulated over files: `score` gives one
    file's, `total` the error over all files divided by all reference speech."""

    def __init__(self) -> None:
        from pyannote.metrics.diarization import DiarizationErrorRate

        self.metric = DiarizationErrorRate(collar=COLLAR, skip_overlap=False)

    def score(
        self, reference: list[Turn], hypothesis: list[Turn], region: tuple[float, float] | None
    ) -> float:
        from pyannote.core import Segment, Timeline

        # Without a UEM, the scored region is the recording's extent (from 0, not from the
        # first turn), so speech a system invents before the first reference turn counts.
        end = max([t.end for t in reference + hypothesis], default=0.0)
        uem = Timeline([Segment(*(region or (0.0, end)))])
        return self.metric(_annotation(reference), _annotation(hypothesis), uem=uem)

    @property
    def total(self) -> float:
        return abs(self.metric)


def _annotation(turns: list[Turn]):
    from pyannote.core import Annotation, Segment

    out = Annotation()
    for index, turn in enumerate(turns):
        out[Segment(turn.start, turn.end), index] = turn.speaker
    return out


def senko_direct(items) -> dict[str, tuple[list[Turn], float]]:
    import senko

    diarizer = senko.Diarizer(device="cpu", warmup=True, quiet=True)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        for wav, _, _ in items:
            # senko reads 16 kHz mono 16-bit WAV only.
            path = Path(scratch) / wav.name
            samples = decode_audio(wav)
            with wave.open(str(path), "wb") as f:
                f.setnchannels(1), f.setsampwidth(2), f.setframerate(16_000)
                f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
            started = time.perf_counter()
            result = diarizer.diarize(str(path))
            seconds = time.perf_counter() - started
            segments = result["merged_segments"] if result else []
            turns = [Turn(s["start"], s["end"], s["speaker"]) for s in segments]
            out[wav.name] = (turns, seconds)
    return out


def senko_portable(items) -> dict[str, tuple[list[Turn], float]]:
    """senko with the portable features, on the samples senko_direct writes to its WAV."""
    diarizer = SenkoDiarizer("cpu", features="portable")
    out = {}
    for wav, _, _ in items:
        samples = np.clip(decode_audio(wav), -1, 1)
        samples = (samples * 32767).astype("<i2").astype(np.float32) / 32768
        started = time.perf_counter()
        turns = diarizer.diarize(samples)
        seconds = time.perf_counter() - started
        out[wav.name] = (
            [Turn(t.start_ms / 1000, t.end_ms / 1000, t.speaker) for t in turns],
            seconds,
        )
    return out


def direct_rows(items, direct, portable) -> tuple[list[dict], DER, DER]:
    """One row per recording with senko's DER on each features path."""
    rows = []
    native_der, portable_der = DER(), DER()
    for wav, reference, region in items:
        senko_turns, senko_seconds = direct[wav.name]
        portable_turns, portable_seconds = portable[wav.name]
        rows.append(
            {
                "file": f"{wav.parent.name}/{wav.name}",
                "senko_der": native_der.score(reference, senko_turns, region),
                "portable_der": portable_der.score(reference, portable_turns, region),
                "senko_speakers": len({t.speaker for t in senko_turns}),
                "portable_speakers": len({t.speaker for t in portable_turns}),
                "reference_speakers": len({t.speaker for t in reference}),
                "senko_s": senko_seconds,
                "portable_s": portable_seconds,
            }
        )
    return rows, native_der, portable_der


def transcribe(client: httpx.Client, path: Path, **config) -> dict:
    job_id = submit(client, path, **config)
    job = wait_all(client, [job_id], timeout=600)[job_id]
    if job["status"] != "completed":
        sys.exit(f"{path.name}: {job.get('error_type')}: {job.get('error_message')}")
    return client.get(f"/transcriptions/{job_id}/transcript").raise_for_status().json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--features",
        choices=MODES,
        help="the Hark server's diarization features path (HARK_DIARIZATION_FEATURES)",
    )
    parser.add_argument(
        "--direct-only",
        action="store_true",
        help="only senko's DER on the native and the portable features path (no server)",
    )
    parser.add_argument("--quick", action="store_true", help="the first two recordings only")
    args = parser.parse_args()
    os.environ.setdefault("HARK_TRANSLATION_MODELS_DIR", str(SHARED / "models"))
    if args.features:
        os.environ["HARK_DIARIZATION_FEATURES"] = args.features
    figures: dict = {}

    items = dev_set()[: 2 if args.quick else None]
    direct = senko_direct(items)
    portable = senko_portable(items)
    rows, native_der, portable_der = direct_rows(items, direct, portable)
    figures["features"] = {
        "der": rows,
        "der_total": {"native": native_der.total, "portable": portable_der.total},
    }
    if args.direct_only:
        report_features(figures["features"])
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    with hark_server(workers=1, timeout=300) as (base, key, _):
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )
        transcribe(client, items[0][0], enable_speaker_diarization=True)  # warm-up
        rows = []
        senko_der, hark_der, words_der = DER(), DER(), DER()
        for wav, reference, region in items:
            started = time.perf_counter()
            transcript = transcribe(client, wav, enable_speaker_diarization=True)
            seconds = time.perf_counter() - started
            # A speaker's turn spans pauses shorter than senko's own merge gap (4 s), so
            # both systems' turns are built the same way.
            hark_turns = turns_from_tokens(transcript["tokens"], bridge_ms=SENKO_MERGE_GAP_MS)
            senko_turns, senko_seconds = direct[wav.name]
            rows.append(
                {
                    "file": f"{wav.parent.name}/{wav.name}",
                    "senko_der": senko_der.score(reference, senko_turns, region),
                    "hark_der": hark_der.score(reference, hark_turns, region),
                    "hark_words_der": words_der.score(
                        reference, turns_from_tokens(transcript["tokens"]), region
                    ),
                    "senko_speakers": len({t.speaker for t in senko_turns}),
                    "hark_speakers": len({t.speaker for t in hark_turns}),
                    "reference_speakers": len({t.speaker for t in reference}),
                    "senko_s": senko_seconds,
                    "hark_s": seconds,
                }
            )
            if wav.name == "sample.wav":
                accuracy, aligned = word_speaker_accuracy(
                    read_stm(wav.with_suffix(".stm")), token_words(transcript["tokens"])
                )
                figures["sample_word_speaker_accuracy"] = accuracy
                figures["sample_words_aligned"] = aligned
        figures["der"] = rows
        figures["der_total"] = {
            "senko": senko_der.total,
            "hark": hark_der.total,
            "hark_words_only": words_der.total,
        }

        stereo = SHARED / "audio" / "telephony" / "stereo_diarization.wav"
        transcript = transcribe(client, stereo, enable_separate_recognition_per_channel=True)
        reference = dict(
            line.split(": ", 1)
            for line in stereo.with_suffix(".txt").read_text().splitlines()
            if ": " in line
        )
        heard = {
            channel: "".join(t["text"] for t in transcript["tokens"] if t["channel"] == channel)
            for channel in (0, 1)
        }
        figures["channels"] = {
            f"channel {channel} ({side})": jiwer.wer(
                " ".join(words(reference[side])), " ".join(words(heard[channel]))
            )
            for channel, side in enumerate(("LEFT", "RIGHT"))
        }

        jfk = SHARED / "audio" / "misc" / "jfk.flac"
        figures["translation"] = {}
        for label, translation in (
            ("one_way en->es", {"type": "one_way", "target_language": "es"}),
            ("two_way en<->es", {"type": "two_way", "language_a": "en", "language_b": "es"}),
        ):
            tokens = transcribe(client, jfk, translation=translation)["tokens"]
            original = "".join(t["text"] for t in tokens if t["translation_status"] == "original")
            translated = "".join(
                t["text"] for t in tokens if t["translation_status"] == "translation"
            )
            figures["translation"][label] = {"original": original, "translation": translated}

    opus = {t.pair: t for t in CTranslate2Translator.find(SHARED / "models")}[("zh", "en")]
    sentence = "我们今天下午去公园散步。"
    figures["translation"]["opus-mt zh->en"] = {
        "original": sentence,
        "translation": opus.translate([Sentence(sentence)], ("zh", "en"))[0],
    }
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


def report_features(figures: dict) -> None:
    print(f"\nsenko's DER by features path (collar {COLLAR} s, overlap scored)")
    print(f"{'recording':36} {'ref':>3} {'native':>7} {'portable':>8}  speakers n/p   seconds n/p")
    for r in figures["der"]:
        print(
            f"{r['file']:36} {r['reference_speakers']:>3} {r['senko_der']:>7.1%} "
            f"{r['portable_der']:>8.1%}  {r['senko_speakers']:>5}/{r['portable_speakers']:<5}  "
            f"{r['senko_s']:>5.2f}/{r['portable_s']:.2f}"
        )
    total = figures["der_total"]
    difference = (total["portable"] - total["native"]) * 100
    print(
        f"{'all files (total error / total speech)':40} {total['native']:>7.1%} "
        f"{total['portable']:>8.1%}\nportable - native: {difference:+.2f} points (bar: within 1)"
    )
    print("native: senko's documented use (WAV file); portable: the same samples in memory.")


def report(figures: dict) -> None:
    report_features(figures["features"])
    rows = figures["der"]
    print(f"\nDiarization error rate (collar {COLLAR} s, overlap scored)")
    print(
        f"{'recording':36} {'ref':>3} {'senko':>7} {'hark':>7} {'words':>7}"
        "  speakers s/h   seconds s/h"
    )
    for r in rows:
        print(
            f"{r['file']:36} {r['reference_speakers']:>3} {r['senko_der']:>7.1%} "
            f"{r['hark_der']:>7.1%} {r['hark_words_der']:>7.1%}  "
            f"{r['senko_speakers']:>5}/{r['hark_speakers']:<5}  "
            f"{r['senko_s']:>5.2f}/{r['hark_s']:.2f}"
        )
    total = figures["der_total"]
    print(
        f"{'all files (total error / total speech)':40} {total['senko']:>7.1%} "
        f"{total['hark']:>7.1%} {total['hark_words_only']:>7.1%}"
    )
    figures["der_ratio"] = total["hark"] / total["senko"]
    print(
        f"Hark / senko: {figures['der_ratio']:.3f}x (bar: <= 1.05x). 'words': Hark's turns "
        "without bridging pauses (each pause between words ends a turn)."
    )
    print("senko seconds: diarization alone; Hark seconds: upload + ASR + diarization.")
    print(
        f"\nWord-level speaker accuracy, sample.wav: "
        f"{figures['sample_word_speaker_accuracy']:.1%} of {figures['sample_words_aligned']} "
        "aligned words"
    )
    print("\nPer-channel WER, stereo_diarization.wav:")
    for label, value in figures["channels"].items():
        print(f"  {label}: {value:.1%}")
    print("\nTranslation:")
    for label, pair in figures["translation"].items():
        print(f"  {label}\n    {pair['original']}\n    -> {pair['translation'].strip()}")


if __name__ == "__main__":
    main()

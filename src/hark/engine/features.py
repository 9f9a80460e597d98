"""The filterbank features senko's speaker embeddings are computed from: senko's bundled
native extractor, or a portable one, chosen from what the CPU offers.

senko's `libfbank_extractor.so` is compiled for AVX-512 (F, BW, DQ and VL instructions on
zmm and EVEX registers): on any other CPU its first call raises SIGILL and kills the process.
The portable path computes the same Kaldi filterbank (povey window, 80 mel bins from 20 Hz,
no dither, snip edges, log power, each subsegment mean-normalised) with kaldi-native-fbank,
whose wheels use no instruction beyond the architecture's baseline."""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .transcript import EngineError, loaded_once

log = logging.getLogger(__name__)

MODES = ("auto", "native", "portable")
# The AVX-512 subsets senko 0.2's extractor executes (objdump: vmovdqu8/16 need BW,
# vinsertf32x8/vextracti64x2 DQ, EVEX-encoded xmm/ymm operands VL, zmm registers F).
NATIVE_NEEDS = ("avx512f", "avx512bw", "avx512dq", "avx512vl")
LABELS = {
    "native": "native (senko libfbank_extractor.so)",
    "portable": "portable (kaldi-native-fbank)",
}

SAMPLE_RATE = 16_000
FRAME_LENGTH = 400  # 25 ms: senko pads shorter subsegments to one frame
MEL_BINS = 80


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The instruction-set flags of the first CPU in /proc/cpuinfo; None when unknown."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return None


def choose(mode: str, machine: str, flags: frozenset[str] | None) -> tuple[str, str]:
    """("native" | "portable", why) for a `HARK_DIARIZATION_FEATURES` mode on a CPU of
    this `machine` architecture with these flags (None: unknown)."""
    if mode not in MODES:
        raise ValueError(f"diarization features must be one of {', '.join(MODES)}, not {mode!r}")
    machine = machine.lower()
    x86_64 = machine in ("x86_64", "amd64")
    lacking = [f for f in NATIVE_NEEDS if flags is None or f not in flags]
    if mode == "portable":
        return "portable", "forced by HARK_DIARIZATION_FEATURES=portable"
    if mode == "native":
        if x86_64 and not lacking:
            return "native", "forced by HARK_DIARIZATION_FEATURES=native"
        return "native", (
            "forced by HARK_DIARIZATION_FEATURES=native although "
            + _why_not_native(machine, x86_64, flags, lacking)
            + ": the engine may die of an illegal instruction"
        )
    if not x86_64 or flags is None or lacking:
        return "portable", _why_not_native(machine, x86_64, flags, lacking)
    return "native", "CPU has " + ", ".join(NATIVE_NEEDS)


def _why_not_native(
    machine: str, x86_64: bool, flags: frozenset[str] | None, lacking: list[str]
) -> str:
    if not x86_64:
        return f"senko's native extractor is built for x86-64 with AVX-512; this CPU is {machine}"
    if flags is None:
        return "CPU features unknown (no /proc/cpuinfo flags)"
    return "CPU lacks " + ", ".join(lacking)


@loaded_once
def chosen(mode: str) -> tuple[str, str]:
    """`choose` for this machine, logged once per process and mode."""
    machine = platform.machine()
    flags = cpu_flags() if machine.lower() in ("x86_64", "amd64") else None
    path, reason = choose(mode, machine, flags)
    level = logging.WARNING if path == "native" and "although" in reason else logging.INFO
    log.log(level, "diarization features: %s: %s", LABELS[path], reason)
    return path, reason


def portable_fbank(
    samples: np.ndarray,
    subsegments: Sequence[tuple[float, float]],
    sample_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """senko's `_extract_fbank_features` contract: the features of each (start s, end s)
    subsegment of 16 kHz float samples (`samples[0]` being sample `sample_offset` of the
    recording), mean-normalised, flattened one after another; with the frame count and
    float offset of each, and the feature dimension."""
    try:
        import kaldi_native_fbank as knf
    except ImportError as exc:
        raise EngineError(
            "diarization_unavailable",
            "Speaker diarization on this CPU needs the `kaldi-native-fbank` package "
            "(pip install 'hark[speakers]').",
        ) from exc
    options = _options(knf)
    chunks: list[np.ndarray] = []
    frames = np.zeros(len(subsegments), dtype=np.int64)
    offsets = np.zeros(len(subsegments), dtype=np.int64)
    offset = 0
    for index, (start_s, end_s) in enumerate(subsegments):
        # The same sample arithmetic as senko's extractors (truncation, not rounding).
        start = int(start_s * SAMPLE_RATE) - sample_offset
        length = max(int((end_s - start_s) * SAMPLE_RATE), 1)
        piece = samples[start : start + length]
        if len(piece) < FRAME_LENGTH:
            piece = np.pad(piece, (0, FRAME_LENGTH - len(piece)))
        fbank = knf.OnlineFbank(options)
        fbank.accept_waveform(SAMPLE_RATE, piece)
        fbank.input_finished()
        count = fbank.num_frames_ready
        feats = np.array([fbank.get_frame(i) for i in range(count)], dtype=np.float32)
        feats = feats.reshape(count, MEL_BINS)
        if count:
            feats -= feats.mean(axis=0, keepdims=True)
        chunks.append(feats.ravel())
        frames[index], offsets[index] = count, offset
        offset += feats.size
    flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return flat, frames, offsets, MEL_BINS


def _options(knf):
    """senko's extractor settings (those of its kaldifeat GPU path, which mirrors it)."""
    options = knf.FbankOptions()
    frame = options.frame_opts
    frame.samp_freq = SAMPLE_RATE
    frame.frame_shift_ms = 10.0
    frame.frame_length_ms = 25.0
    frame.dither = 0.0
    frame.preemph_coeff = 0.97
    frame.remove_dc_offset = True
    frame.window_type = "povey"
    frame.round_to_power_of_two = True
    frame.snip_edges = True
    options.mel_opts.num_bins = MEL_BINS
    options.mel_opts.low_freq = 20.0
    options.mel_opts.high_freq = 0.0  # the Nyquist frequency
    options.use_energy = False
    options.energy_floor = 1.0
    options.raw_energy = True
    options.use_log_fbank = True
    options.use_power = True
    return options

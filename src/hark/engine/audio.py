"""Decode any container PyAV understands into 16 kHz mono float32 samples."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import av
import numpy as np

from .transcript import AudioDecodeError

SAMPLE_RATE = 16_000
# Separate recognition per channel: more channels than a conference mixer's multitrack are
# refused rather than recognised one by one.
MAX_CHANNELS = 8


def decode_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Return mono float32 samples in [-1, 1]; raise AudioDecodeError with a readable reason.
    The samples are streamed to an (already unlinked) scratch file and memory-mapped, so
    however long the audio, only the pages being read are in memory. With `max_seconds`,
    decoding stops (audio_too_long) as soon as the audio exceeds it, so a container that
    under-declares its length cannot fill the disk."""
    return _decode(path, sample_rate, max_seconds, mono=True)[0]


def decode_channels(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> list[np.ndarray]:
    """Like decode_audio, but one array per channel of the first audio stream (at most
    MAX_CHANNELS: more are refused with too_many_channels), each memory-mapped from its own
    scratch file. Every channel is recognised, so `max_seconds` holds for channels x
    seconds."""
    return _decode(path, sample_rate, max_seconds, mono=False)


def _decode(
    path: str | Path, sample_rate: int, max_seconds: float | None, mono: bool
) -> list[np.ndarray]:
    """One read-only memory map of float32 samples per channel, each streamed to its own
    unlinked scratch file as it is decoded: memory does not grow with channels x duration
    (the maps keep the files alive once they are closed here)."""
    with ExitStack() as files:
        scratch: list[IO[bytes]] = []
        for block in _blocks(path, sample_rate, max_seconds, mono):
            if not scratch:
                scratch = [
                    files.enter_context(tempfile.TemporaryFile(prefix="hark-audio-"))
                    for _ in range(block.shape[1])
                ]
            samples = block.astype(np.float32) / 32768.0
            for file, channel in zip(scratch, samples.T, strict=True):
                file.write(channel.tobytes())
        if not scratch or scratch[0].tell() == 0:
            raise AudioDecodeError("audio_empty", "The audio stream contains no samples.")
        for file in scratch:
            file.flush()
        return [np.memmap(file, dtype=np.float32, mode="r") for file in scratch]


def _blocks(
    path: str | Path, sample_rate: int, max_seconds: float | None, mono: bool
) -> Iterator[np.ndarray]:
    """The first audio stream as (n, channels) int16 blocks, resampled as they are decoded
    (mono: one channel)."""
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            "audio_decode_error", f"The file could not be read as audio or video: {_reason(exc)}"
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("no_audio_stream", "The file contains no audio stream.")
        stream = container.streams.audio[0]
        if not mono and stream.channels > MAX_CHANNELS:
            raise AudioDecodeError(
                "too_many_channels",
                f"The audio has {stream.channels} channels; separate recognition per channel "
                f"handles at most {MAX_CHANNELS}.",
            )
        # FFmpeg mixes known layouts (up to 7.1) to mono itself; more channels have no
        # positions to mix by, so they are decoded as they are and averaged here.
        average = mono and stream.channels > MAX_CHANNELS
        layout = "mono" if mono and not average else stream.layout.name
        channels = 1 if mono else stream.channels
        max_samples = int(max_seconds * sample_rate / channels) if max_seconds else None
        # Packed samples (one plane, channels interleaved): PyAV reads the planes of a
        # planar frame with 8 or more channels past their end (a segmentation fault).
        resampler = av.AudioResampler(format="s16", layout=layout, rate=sample_rate)
        width = stream.channels if average else channels  # of what the resampler gives

        def samples(frame: av.AudioFrame) -> np.ndarray:  # (n, channels)
            packed = frame.to_ndarray().reshape(-1, width)
            return packed.mean(axis=1, keepdims=True) if average else packed

        try:
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = samples(out)
                    total += len(block)
                    yield block
                if max_samples is not None and total > max_samples:
                    raise AudioDecodeError("audio_too_long", _too_long(max_seconds, channels))
            for out in resampler.resample(None):
                yield samples(out)
        except (av.FFmpegError, ValueError) as exc:
            raise AudioDecodeError(
                "audio_decode_error", f"The audio stream is corrupt: {_reason(exc)}"
            ) from exc


def _too_long(max_seconds: float, channels: int) -> str:
    if channels == 1:
        return f"The audio is longer than the maximum of {max_seconds:g} s."
    return (
        f"The audio is longer than the maximum of {max_seconds:g} s counted over its "
        f"{channels} channels (each is recognised: at most {max_seconds / channels:g} s each)."
    )


def probe_duration_ms(path: str | Path) -> int | None:
    """The duration the container declares, without decoding; None when it declares none
    (or cannot be read, which decoding then reports properly)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.duration:
                return container.duration // 1000  # AV_TIME_BASE is microseconds
            for stream in container.streams.audio:
                if stream.duration and stream.time_base:
                    return int(stream.duration * stream.time_base * 1000)
    except (av.FFmpegError, ValueError):
        return None
    return None


def _reason(exc: Exception) -> str:
    # PyAV messages end with the file path; users need the reason, not our storage layout.
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].rstrip(".") + "."

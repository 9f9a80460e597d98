"""Decode any container PyAV understands into 16 kHz mono float32 samples."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np

from .transcript import AudioDecodeError

SAMPLE_RATE = 16_000


def decode_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Return mono float32 samples in [-1, 1]; raise AudioDecodeError with a readable reason.
    The samples are streamed to an (already unlinked) scratch file and memory-mapped, so
    however long the audio, only the pages being read are in memory. With `max_seconds`,
    decoding stops (audio_too_long) as soon as the audio exceeds it, so a container that
    under-declares its length cannot fill the disk."""
    with tempfile.TemporaryFile(prefix="hark-audio-") as scratch:
        for block in _blocks(path, sample_rate, max_seconds, layout=lambda _: "mono"):
            scratch.write((block[0].astype(np.float32) / 32768.0).tobytes())
        if scratch.tell() == 0:
            raise AudioDecodeError("audio_empty", "The audio stream contains no samples.")
        scratch.flush()
        return np.memmap(scratch, dtype=np.float32, mode="r")


def decode_channels(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> list[np.ndarray]:
    """Like decode_audio, but one array per channel of the first audio stream."""
    return list(_decode(path, sample_rate, max_seconds, mono=False))


def _decode(
    path: str | Path, sample_rate: int, max_seconds: float | None, mono: bool
) -> np.ndarray:
    """Samples as a (channels, n) float32 array."""
    layout = (lambda stream: "mono") if mono else (lambda stream: stream.layout.name)
    chunks = list(_blocks(path, sample_rate, max_seconds, layout))
    if not chunks or sum(c.shape[1] for c in chunks) == 0:
        raise AudioDecodeError("audio_empty", "The audio stream contains no samples.")
    return np.concatenate(chunks, axis=1).astype(np.float32) / 32768.0


def _blocks(
    path: str | Path, sample_rate: int, max_seconds: float | None, layout: Callable
) -> Iterator[np.ndarray]:
    """The first audio stream as (channels, n) int16 blocks, resampled as they are decoded;
    `layout(stream)` names the channel layout wanted."""
    max_samples = int(max_seconds * sample_rate) if max_seconds else None
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
        resampler = av.AudioResampler(format="s16p", layout=layout(stream), rate=sample_rate)
        try:
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray()
                    total += block.shape[1]
                    yield block
                if max_samples is not None and total > max_samples:
                    raise AudioDecodeError(
                        "audio_too_long",
                        f"The audio is longer than the maximum of {max_seconds:g} s.",
                    )
            for out in resampler.resample(None):
                yield out.to_ndarray()
        except (av.FFmpegError, ValueError) as exc:
            raise AudioDecodeError(
                "audio_decode_error", f"The audio stream is corrupt: {_reason(exc)}"
            ) from exc


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


# `audio_format` names (Soniox's) of containers the decoder recognizes by probing.
CONTAINER_FORMATS = frozenset(
    {"auto", "aac", "aiff", "amr", "asf", "flac", "mp3", "ogg", "wav", "webm"}
)
# Raw sample formats a WAV header can describe: name -> (WAVE format tag, bits per sample).
RAW_FORMATS = {
    "pcm_s16le": (1, 16),
    "pcm_s32le": (1, 32),
    "pcm_f32le": (3, 32),
    "mulaw": (7, 8),
    "alaw": (6, 8),
}
_UNKNOWN_SIZE = 0xFFFFFFFF  # decoders read such a chunk to the end of the file


def wav_header(audio_format: str, sample_rate: int, channels: int) -> bytes:
    """A WAV header that turns raw samples of unknown length (streamed after it) into a
    file `decode_audio` reads; `audio_format` is a key of RAW_FORMATS."""
    tag, bits = RAW_FORMATS[audio_format]
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
    return (
        b"RIFF" + struct.pack("<I", _UNKNOWN_SIZE) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", _UNKNOWN_SIZE)
    )  # fmt: skip


def _reason(exc: Exception) -> str:
    # PyAV messages end with the file path; users need the reason, not our storage layout.
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].rstrip(".") + "."

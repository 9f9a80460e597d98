"""Make test media with PyAV: re-encode real speech into other containers, build long files."""

from __future__ import annotations

import io
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hark.engine import SAMPLE_RATE, decode_audio


def write_wav(samples: np.ndarray, path: Path, sample_rate: int = SAMPLE_RATE) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())
    return path


def repeat_to(source: Path, seconds: float, path: Path) -> Path:
    """A long recording made of real speech, for jobs that must run for a while."""
    audio = decode_audio(source)
    reps = int(np.ceil(seconds * SAMPLE_RATE / len(audio)))
    return write_wav(np.tile(audio, reps)[: int(seconds * SAMPLE_RATE)], path)


def encode(
    source: Path, path: Path, codec: str, rate: int = 48_000, video: str | None = None
) -> Path:
    """Re-encode `source` with an audio codec (and optionally a video track) into `path`."""
    samples = decode_audio(source, sample_rate=rate)
    with av.open(str(path), "w") as out:
        if video:
            vstream = out.add_stream(video, rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = out.add_stream(codec, rate=rate)
        astream.layout = "mono"
        # PyAV converts and re-buffers frames to whatever the encoder needs.
        for start in range(0, len(samples), 4096):
            chunk = samples[start : start + 4096].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            out.mux(astream.encode(frame))
        out.mux(astream.encode(None))
        if video:
            seconds = len(samples) / rate
            for i in range(int(seconds * 10)):
                image = np.full((48, 64, 3), i % 255, dtype=np.uint8)
                vframe = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                    format="yuv420p"
                )
                vframe.pts = i
                out.mux(vstream.encode(vframe))
            out.mux(vstream.encode(None))
    return path


def video_without_audio(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def encode_bytes(source: Path, container: str, codec: str, rate: int, channels: int = 1) -> bytes:
    """`source` re-encoded in memory: a container, or a raw FFmpeg format (s16be, mulaw...)
    written by FFmpeg's own muxers, at any rate, the mono speech copied to every channel."""
    samples = decode_audio(source, sample_rate=rate)
    layout = "mono" if channels == 1 else "stereo"
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=rate)
        stream.layout = layout
        for start in range(0, len(samples), 4096):
            chunk = np.tile(samples[start : start + 4096], (channels, 1)).T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk.copy(), format="flt", layout=layout)
            frame.sample_rate = rate
            muxer.mux(stream.encode(frame))
        muxer.mux(stream.encode(None))
    return out.getvalue()

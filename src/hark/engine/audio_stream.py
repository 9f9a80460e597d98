"""Audio that arrives in pieces: every raw sample layout Soniox names, containers decoded
as their bytes arrive, and WAV headers for spooling raw audio. The one place that knows
audio formats (the realtime socket and the legacy gRPC API both use it)."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from .audio import MAX_CHANNELS, SAMPLE_RATE, _reason
from .transcript import AudioDecodeError

# `audio_format` names (Soniox's) of containers the decoder recognizes by probing.
CONTAINER_FORMATS = frozenset(
    {"auto", "aac", "aiff", "amr", "asf", "flac", "mp3", "ogg", "wav", "webm"}
)


@dataclass(frozen=True)
class RawLayout:
    """One interleaved sample format: `kind` i (signed), u (unsigned), f (float), or a
    G.711 companding law; `width` bytes per sample; `endian` < or >."""

    kind: str
    width: int
    endian: str = "<"
    wav_tag: int | None = None  # WAVE format tag when a WAV header can describe it as is


def _pcm(kind: str, bits: int, endian: str = "<", wav_tag: int | None = None) -> RawLayout:
    return RawLayout(kind, bits // 8, endian, wav_tag)


# Every raw format of the soniox 2.10 SDK (RealtimeSTTRawFormat).
RAW_FORMATS: dict[str, RawLayout] = {
    "pcm_s8": _pcm("i", 8),
    "pcm_s16le": _pcm("i", 16, "<", 1),
    "pcm_s16be": _pcm("i", 16, ">"),
    "pcm_s24le": _pcm("i", 24, "<", 1),
    "pcm_s24be": _pcm("i", 24, ">"),
    "pcm_s32le": _pcm("i", 32, "<", 1),
    "pcm_s32be": _pcm("i", 32, ">"),
    "pcm_u8": _pcm("u", 8, "<", 1),  # WAV's 8-bit PCM is unsigned
    "pcm_u16le": _pcm("u", 16),
    "pcm_u16be": _pcm("u", 16, ">"),
    "pcm_u24le": _pcm("u", 24),
    "pcm_u24be": _pcm("u", 24, ">"),
    "pcm_u32le": _pcm("u", 32),
    "pcm_u32be": _pcm("u", 32, ">"),
    "pcm_f32le": _pcm("f", 32, "<", 3),
    "pcm_f32be": _pcm("f", 32, ">"),
    "pcm_f64le": _pcm("f", 64, "<", 3),
    "pcm_f64be": _pcm("f", 64, ">"),
    "mulaw": _pcm("mulaw", 8, "<", 7),
    "alaw": _pcm("alaw", 8, "<", 6),
}


def _mulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)
    return (np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84) / 32768).astype(np.float32)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent, mantissa = (a >> 4) & 7, a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return (np.where(a & 0x80, magnitude, -magnitude) / 32768).astype(np.float32)


_G711 = {"mulaw": _mulaw_table(), "alaw": _alaw_table()}


def raw_to_float(data: bytes, layout: RawLayout) -> np.ndarray:
    """Samples in [-1, 1] of whole samples of `data` (its length a multiple of the width)."""
    if layout.kind in _G711:
        return _G711[layout.kind][np.frombuffer(data, dtype=np.uint8)]
    width, bits = layout.width, layout.width * 8
    if width == 3:  # no numpy dtype: widen each sample to 4 bytes
        triples = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
        if layout.endian == ">":
            triples = triples[:, ::-1]
        values = triples[:, 0] | triples[:, 1] << 8 | triples[:, 2] << 16
        if layout.kind == "i":
            return ((values.astype(np.int32) << 8) >> 8).astype(np.float32) / 2**23
        return (values.astype(np.float64) - 2**23).astype(np.float32) / 2**23
    dtype = np.dtype(f"{layout.endian}{layout.kind}{width}")
    values = np.frombuffer(data, dtype=dtype).astype(np.float64)
    if layout.kind == "f":
        return np.clip(values, -1, 1).astype(np.float32)
    if layout.kind == "u":
        values -= 2 ** (bits - 1)
    return (values / 2 ** (bits - 1)).astype(np.float32)


_UNKNOWN_SIZE = 0xFFFFFFFF  # decoders read such a chunk to the end of the file


def wav_header(audio_format: str, sample_rate: int, channels: int) -> bytes:
    """A WAV header for raw samples of unknown length streamed after it, in the layout
    `raw_as_wav(audio_format)` writes."""
    layout = RAW_FORMATS[audio_format]
    tag, bits = (layout.wav_tag, layout.width * 8) if layout.wav_tag else (3, 32)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
    return (
        b"RIFF" + struct.pack("<I", _UNKNOWN_SIZE) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", _UNKNOWN_SIZE)
    )  # fmt: skip


def raw_as_wav(audio_format: str) -> Callable[[bytes], bytes]:
    """What to write after `wav_header` for each chunk of raw audio: the bytes as they are
    when WAV can describe the layout, otherwise float32 little-endian (chunks may split
    samples: the remainder waits for the next chunk)."""
    layout = RAW_FORMATS[audio_format]
    if layout.wav_tag:
        return lambda chunk: chunk
    pending = b""

    def convert(chunk: bytes) -> bytes:
        nonlocal pending
        data = pending + chunk
        whole = len(data) - len(data) % layout.width
        pending = data[whole:]
        return raw_to_float(data[:whole], layout).astype("<f4").tobytes()

    return convert


class _Resampler:
    """Mono float32 at any rate -> 16 kHz mono float32, carrying state between chunks."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._av = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)

    def __call__(self, mono: np.ndarray | None) -> np.ndarray:
        if mono is not None and self.rate == SAMPLE_RATE:
            return mono
        if mono is None:
            frames = self._av.resample(None) if self.rate != SAMPLE_RATE else []
        else:
            frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = self.rate
            frames = self._av.resample(frame)
        return _joined([f.to_ndarray()[0] for f in frames])


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


class StreamDecoder:
    """Bytes in, 16 kHz mono float32 samples out, as the bytes arrive."""

    def feed(self, data: bytes) -> np.ndarray:
        raise NotImplementedError

    def finish(self) -> np.ndarray:
        """The samples still held back, once no more bytes will come."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the decoder holds (also when it was not finished)."""


class RawDecoder(StreamDecoder):
    def __init__(self, audio_format: str, sample_rate: int, channels: int) -> None:
        self.layout = RAW_FORMATS[audio_format]
        self.channels = channels
        self._frame = self.layout.width * channels
        self._pending = b""
        self._resample = _Resampler(sample_rate)

    def feed(self, data: bytes) -> np.ndarray:
        data = self._pending + data
        whole = len(data) - len(data) % self._frame
        self._pending = data[whole:]
        samples = raw_to_float(data[:whole], self.layout)
        mono = samples.reshape(-1, self.channels).mean(axis=1, dtype=np.float32)
        return self._resample(mono)

    def finish(self) -> np.ndarray:
        return self._resample(None)


class _Pipe:
    """A file object PyAV reads while bytes are still arriving: read() waits for them."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._closed = False
        self._cond = threading.Condition()

    def write(self, data: bytes) -> None:
        with self._cond:
            self._data += data
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            self._cond.wait_for(lambda: self._data or self._closed)
            size = len(self._data) if size < 0 else min(size, len(self._data))
            out = bytes(self._data[:size])
            del self._data[:size]
            return out


class ContainerDecoder(StreamDecoder):
    """Any container FFmpeg can read without seeking (mp3, ogg, webm, flac, wav, aac, ...),
    demuxed and decoded in a thread of its own while its bytes arrive, so an endless
    stream produces samples as it goes."""

    PROBE_BYTES = 32_768  # how much FFmpeg reads before it names the format

    def __init__(self) -> None:
        self._pipe = _Pipe()
        self._lock = threading.Lock()
        self._out: list[np.ndarray] = []
        self._error: AudioDecodeError | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="hark-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._decode()
        except AudioDecodeError as exc:
            self._error = exc
        except (av.FFmpegError, ValueError, OSError) as exc:
            self._error = AudioDecodeError(
                "audio_decode_error", f"The audio stream could not be decoded: {_reason(exc)}"
            )

    def _decode(self) -> None:
        options = {"probesize": str(self.PROBE_BYTES), "analyzeduration": "0"}
        with av.open(self._pipe, mode="r", options=options, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError("no_audio_stream", "The stream contains no audio.")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
            for packet in container.demux(stream):
                if self._stop:
                    return
                for frame in packet.decode():
                    self._emit([f.to_ndarray()[0] for f in resampler.resample(frame)])
            self._emit([f.to_ndarray()[0] for f in resampler.resample(None)])

    def _emit(self, pieces: list[np.ndarray]) -> None:
        with self._lock:
            self._out += pieces

    def _take(self) -> np.ndarray:
        with self._lock:
            pieces, self._out = self._out, []
        if self._error is not None:
            raise self._error
        return _joined(pieces)

    def feed(self, data: bytes) -> np.ndarray:
        if self._error is not None:
            raise self._error
        self._pipe.write(data)
        return self._take()

    def finish(self) -> np.ndarray:
        self._pipe.close()
        self._thread.join()
        return self._take()

    def close(self) -> None:
        self._stop = True
        self._pipe.close()


def check_format(audio_format: str, sample_rate: int | None, channels: int | None) -> None:
    """Refuse an unknown `audio_format`, or a raw one without its rate and channel count."""
    if audio_format in RAW_FORMATS:
        if not (sample_rate and channels):
            raise AudioDecodeError(
                "audio_format_incomplete",
                f"audio_format {audio_format} needs sample_rate and num_channels.",
            )
        if channels > MAX_CHANNELS:
            raise AudioDecodeError(
                "too_many_channels",
                f"num_channels is {channels}; raw audio may have at most {MAX_CHANNELS}.",
            )
    elif audio_format not in CONTAINER_FORMATS:
        raise AudioDecodeError(
            "unsupported_audio_format",
            f"Unsupported audio_format {audio_format!r} (supported: "
            f"{', '.join(sorted(CONTAINER_FORMATS | set(RAW_FORMATS)))}).",
        )


def stream_decoder(
    audio_format: str,
    sample_rate: int | None = None,
    channels: int | None = None,
) -> StreamDecoder:
    """The decoder for an `audio_format` (a raw one needs its rate and channel count)."""
    check_format(audio_format, sample_rate, channels)
    if audio_format in RAW_FORMATS:
        return RawDecoder(audio_format, sample_rate or 0, channels or 0)
    return ContainerDecoder()

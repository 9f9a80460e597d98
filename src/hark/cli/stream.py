"""`hark stream FILE|-`: send audio to the realtime WebSocket at real-time pace and show
the transcript as it is recognised (client side only: nothing of the server is loaded)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from hark.client import Client

CHUNK_SECONDS = 0.1
# A container's bitrate is unknown until the server reports how much audio it decoded;
# until then it is paced as if it were 256 kbit/s.
ASSUMED_BYTES_PER_SECOND = 32_000
_WIDTH = {"8": 1, "16": 2, "24": 3, "32": 4, "64": 8}


def raw_bytes_per_second(audio_format: str, rate: int, channels: int) -> int | None:
    """Bytes per second of a raw layout (pcm_s16le, mulaw, ...); None for containers."""
    if audio_format in ("mulaw", "alaw"):
        width = 1
    elif audio_format.startswith("pcm_"):
        width = _WIDTH.get(audio_format[5:].rstrip("lbe"), 0)
    else:
        return None
    return width * rate * channels or None


class Pacer:
    """Chunks of the input, released no faster than the audio plays (unless fast)."""

    def __init__(self, source: BinaryIO, bytes_per_second: int | None, fast: bool) -> None:
        self.source = source
        self.raw_rate = bytes_per_second
        self.fast = fast
        self.sent = 0
        self.reported_ms = 0  # audio the server decoded, for a container's bitrate

    def rate(self) -> float:
        if self.raw_rate:
            return self.raw_rate
        if self.reported_ms > 1000:
            return self.sent * 1000 / self.reported_ms
        return ASSUMED_BYTES_PER_SECOND

    def chunks(self) -> Iterator[bytes]:
        start = time.monotonic()
        size = int((self.raw_rate or ASSUMED_BYTES_PER_SECOND) * CHUNK_SECONDS) or 1024
        while chunk := self.source.read(size):
            yield chunk
            self.sent += len(chunk)
            if not self.fast:
                ahead = self.sent / self.rate() - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)


class Display:
    """Final text printed once, as it is committed; on a terminal, the non-final tail
    shown after it and rewritten in place."""

    def __init__(self, out, output_format: str) -> None:
        self.out = out
        self.jsonl = output_format == "jsonl"
        self.tty = out.isatty() and not self.jsonl
        self.tail = ""

    def show(self, event) -> None:
        if self.jsonl:
            print(event.model_dump_json(exclude_none=True), file=self.out, flush=True)
            return
        final = "".join(t.text for t in event.tokens if t.is_final and t.text[:1] != "<")
        ended = any(t.is_final and t.text in ("<end>", "<fin>") for t in event.tokens)
        tail = "".join(t.text for t in event.tokens if not t.is_final)
        if self.tty and self.tail:
            self.out.write("\b" * len(self.tail) + "\033[K")  # erase the old tail
        self.out.write(final + ("\n" if ended else ""))
        self.tail = tail if self.tty else ""
        if self.tail:
            self.out.write(f"\033[2m{tail}\033[0m")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self.tail:
            self.out.write("\b" * len(self.tail) + "\033[K")
        if not self.jsonl:
            self.out.write("\n")
        self.out.flush()


def stream(
    client: Client,
    source_path: str,
    *,
    model: str,
    audio_format: str,
    sample_rate: int | None,
    num_channels: int | None,
    language: list[str] | None,
    endpoints: bool,
    fast: bool,
    output_format: str,
) -> int:
    from hark.client import HarkRealtimeError
    from hark.client.realtime import checked_config

    config = checked_config(
        {
            "model": model,
            "audio_format": audio_format,
            "sample_rate": sample_rate,
            "num_channels": num_channels,
            "language_hints": language or None,
            "enable_endpoint_detection": endpoints or None,
        }
    )
    rate = raw_bytes_per_second(audio_format, sample_rate or 0, num_channels or 0)
    source = sys.stdin.buffer if source_path == "-" else open(source_path, "rb")  # noqa: SIM115
    display = Display(sys.stdout, output_format)
    error: list[str] = []
    with source, client.realtime.stt.connect(config=config) as session:
        pacer = Pacer(source, rate, fast)

        def send() -> None:
            try:
                session.send_bytes(pacer.chunks())
            except HarkRealtimeError as exc:  # the server ended the session (see its message)
                error.append(str(exc))

        sender = threading.Thread(target=send, name="hark-stream-send", daemon=True)
        sender.start()
        for event in session.receive_events():
            if event.error_code:
                raise HarkRealtimeError(
                    f"{event.error_message} ({event.error_code})", event.error_code
                )
            pacer.reported_ms = event.total_audio_proc_ms or pacer.reported_ms
            display.show(event)
        display.close()
    return 0

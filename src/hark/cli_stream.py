"""`hark stream FILE|-`: send audio to the realtime WebSocket at real-time pace and show
the transcript as it is recognised (client side only: nothing of the server is loaded)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO

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


def cmd_stream(args: argparse.Namespace, client) -> int:
    from hark.client import HarkRealtimeError
    from hark.client.realtime import checked_config

    config = checked_config(
        {
            "model": args.model,
            "audio_format": args.audio_format,
            "sample_rate": args.sample_rate,
            "num_channels": args.num_channels,
            "language_hints": args.language or None,
            "enable_endpoint_detection": args.endpoints or None,
        }
    )
    rate = raw_bytes_per_second(args.audio_format, args.sample_rate or 0, args.num_channels or 0)
    source = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # noqa: SIM115
    display = Display(sys.stdout, args.format)
    error: list[str] = []
    with source, client.realtime.stt.connect(config=config) as session:
        pacer = Pacer(source, rate, args.fast)

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


def add_stream_command(sub, parents: list[argparse.ArgumentParser], wrap, make_client) -> None:
    stream = sub.add_parser(
        "stream",
        parents=parents,
        help="transcribe a file or stdin live over the realtime WebSocket",
        description="Send FILE (or - for stdin: raw PCM or any container) at real-time pace "
        "and print the final text as it is committed; on a terminal the non-final tail is "
        "shown after it and updated in place.",
    )
    stream.add_argument("input", metavar="FILE|-")
    stream.add_argument("--model", default="stt-rt-v5", help="realtime model id")
    stream.add_argument(
        "--audio-format", default="auto", help="auto (containers) or a raw layout: pcm_s16le..."
    )
    stream.add_argument("--sample-rate", type=int, help="raw audio: samples per second")
    stream.add_argument("--num-channels", type=int, help="raw audio: interleaved channels")
    stream.add_argument("--language", action="append", metavar="CODE", help="language hint")
    stream.add_argument("--endpoints", action="store_true", help="end lines at speech pauses")
    stream.add_argument("--fast", action="store_true", help="send as fast as possible")
    stream.add_argument("--format", choices=("text", "jsonl"), default="text")

    def run(args: argparse.Namespace) -> int:
        with make_client(args) as client:
            return cmd_stream(args, client)

    stream.set_defaults(func=wrap(run))

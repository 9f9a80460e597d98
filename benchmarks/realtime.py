"""Live recognition on WS /transcribe-websocket: latency, lag, accuracy and concurrency.

Streams dev-set speech (the recordings joined with 1 s pauses, as raw 16 kHz PCM in 100 ms
frames) at 1x real time, and measures, against the batch transcript of the same audio
(made through the REST API by the same server):

- first token: wall time from the end of the first word (batch timing) to the first token
- final lag: for each final token, arrival time minus the token's end in the audio (median)
- <fin> latency: from sending finalize at the end of the audio to receiving <fin>
- WER of the streamed final text against the batch text (and both against the reference)
- concurrency: N sessions at once; a level "keeps up" when every session's median final
  lag stays under --max-lag and its <fin> arrives within --max-lag of the finalize
- --fast: the same audio sent as fast as possible: audio-s per wall-s
- boundary: what the engine-process channel adds to each update of a live stream: the
  first recordings fed in 100 ms frames to an `EngineStream` (the server's engine settings,
  in a child of this script), each call's round trip less the time the recogniser in the
  child reports for it (median and p95, for calls that decoded and for those that only
  carried audio); target < 50 ms

    HF_HUB_OFFLINE=1 python benchmarks/realtime.py [--sessions 1,2,3] [--fast] [--json out.json]
    HF_HUB_OFFLINE=1 python benchmarks/realtime.py --quick          # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jiwer
import numpy as np
from websockets.asyncio.client import connect

from hark.engine import SAMPLE_RATE, EngineProcess, StreamingConfig, TranscribeOptions, decode_audio
from hark.jobs import engine_config
from hark.settings import Settings
from scoring import normalize

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_CLEAN = REPO_ROOT.parent / "shared" / "audio" / "librispeech" / "dev-clean"
FRAME_S = 0.1
PAUSE_S = 1.0
CONFIG = {"model": "stt-rt-v5", "audio_format": "pcm_s16le", "sample_rate": 16000}
CONFIG["num_channels"] = 1


@dataclass
class Stream:
    first_token_s: float | None = None  # after the end of the first word
    final_lags_s: list[float] = field(default_factory=list)
    fin_latency_s: float | None = None
    wall_s: float = 0.0
    text: str = ""
    error: str | None = None

    @property
    def median_lag_s(self) -> float | None:
        return statistics.median(self.final_lags_s) if self.final_lags_s else None


async def stream(url: str, key: str, pcm: bytes, first_word_end_s: float, fast: bool) -> Stream:
    out = Stream()
    frame = int(FRAME_S * SAMPLE_RATE) * 2
    headers = {"Authorization": f"Bearer {key}"}
    finals: list[str] = []
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(json.dumps(CONFIG))
        start = time.monotonic()
        finalize_at: list[float] = []

        async def send() -> None:
            for index, offset in enumerate(range(0, len(pcm), frame)):
                await ws.send(pcm[offset : offset + frame])
                if not fast:
                    await asyncio.sleep(max(0.0, start + (index + 1) * FRAME_S - time.monotonic()))
            finalize_at.append(time.monotonic())
            await ws.send(json.dumps({"type": "finalize"}))
            await ws.send("")

        sender = asyncio.create_task(send())
        async for raw in ws:
            now = time.monotonic() - start
            message = json.loads(raw)
            if message.get("error_code"):
                out.error = message["error_message"]
                break
            tokens = [t for t in message.get("tokens", []) if not t["text"].startswith("<")]
            if tokens and out.first_token_s is None:
                out.first_token_s = now - first_word_end_s
            for token in message.get("tokens", []):
                if token["text"] == "<fin>" and finalize_at:
                    out.fin_latency_s = time.monotonic() - finalize_at[0]
                elif token["is_final"] and not token["text"].startswith("<"):
                    finals.append(token["text"])
                    out.final_lags_s.append(now - token["end_ms"] / 1000)
        await sender
        out.wall_s = time.monotonic() - start
    out.text = "".join(finals)
    return out


async def together(
    url: str, key: str, pcm: bytes, first_end: float, sessions: int, fast: bool
) -> list[Stream]:
    return await asyncio.gather(*(stream(url, key, pcm, first_end, fast) for _ in range(sessions)))


def boundary(audio: np.ndarray) -> dict:
    """Per-call cost of the engine-process channel for a live stream (see the module doc)."""
    engine = EngineProcess(engine_config(Settings()))
    try:
        engine.wait_ready()
        stream = engine.open_stream(TranscribeOptions(), StreamingConfig())
        step = int(FRAME_S * SAMPLE_RATE)
        decoded: list[float] = []
        carried: list[float] = []
        for offset in range(0, len(audio), step):
            started = time.perf_counter()
            update = stream.feed(audio[offset : offset + step])
            elapsed = (time.perf_counter() - started) * 1000
            if update is None:
                carried.append(elapsed)
            else:
                decoded.append(elapsed - update.compute_ms)
        stream.close()
    finally:
        engine.stop()

    def spread(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "calls": len(values),
            "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        }

    return {"updates": spread(decoded), "audio_only": spread(carried)}


def batch(api: httpx.Client, wav: Path) -> dict:
    file_id = api.post("/files", files={"file": (wav.name, wav.read_bytes())}).json()["id"]
    job = api.post("/transcriptions", json={"model": "stt-async-v5", "file_id": file_id}).json()
    while (status := api.get(f"/transcriptions/{job['id']}").json())["status"] not in (
        "completed",
        "error",
    ):
        time.sleep(0.5)
    assert status["status"] == "completed", status
    return api.get(f"/transcriptions/{job['id']}/transcript").json()


def speech(files: list[Path]) -> tuple[np.ndarray, str]:
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    pieces, texts = [], []
    for path in files:
        pieces += [decode_audio(path), pause]
        texts.append(path.with_suffix(".txt").read_text())
    return np.concatenate(pieces), " ".join(texts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen, str, str]:
    port, key = free_port(), "hark_bench_" + secrets.token_hex(8)
    # Engine and realtime settings of the environment apply; a cap that lets every level in.
    env = dict(os.environ)
    env.update({"HARK_API_KEY": key, "HARK_DATA_DIR": str(data), "HARK_PORT": str(port)})
    env["HARK_REALTIME_MAX_SESSIONS"] = "16"
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return server, base, key


def summarize(label: str, runs: list[Stream], batch_text: str, reference: str, audio_s: float):
    lags = [r.median_lag_s for r in runs if r.median_lag_s is not None]
    row = {
        "label": label,
        "sessions": len(runs),
        "errors": [r.error for r in runs if r.error],
        "first_token_s": max((r.first_token_s or 0) for r in runs),
        "median_final_lag_s": max(lags) if lags else None,
        "fin_latency_s": max((r.fin_latency_s or 0) for r in runs),
        "wer_vs_batch": max(jiwer.wer(normalize(batch_text), normalize(r.text)) for r in runs),
        "wer_vs_reference": max(jiwer.wer(reference, normalize(r.text)) for r in runs),
        "audio_s_per_wall_s": sum(audio_s / r.wall_s for r in runs),
    }
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio-dir", type=Path, default=DEV_CLEAN)
    parser.add_argument("--sessions", default="1,2,3", help="concurrency levels to try")
    parser.add_argument("--fast", action="store_true", help="also stream as fast as possible")
    parser.add_argument("--max-lag", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="two recordings, 1 session: smoke")
    parser.add_argument("--url", help="a running server's ws://.../transcribe-websocket")
    parser.add_argument("--base-url", help="its REST base, http://host:port (with --url)")
    parser.add_argument("--api-key")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--boundary-files", type=int, default=3, help="recordings for the boundary (0: skip)"
    )
    args = parser.parse_args()

    files = sorted(p for p in args.audio_dir.iterdir() if p.suffix in (".flac", ".wav"))
    levels = [int(n) for n in args.sessions.split(",")]
    if args.quick:
        files, levels = files[:2], [1]
    audio, reference = speech(files)
    audio_s = len(audio) / SAMPLE_RATE
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()

    server = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url, base, key = args.url, args.base_url, args.api_key
        else:
            server, base, key = start_server(Path(tmp) / "hark")
            url = base.replace("http", "ws", 1) + "/transcribe-websocket"
        try:
            wav = Path(tmp) / "speech.wav"
            with wave.open(str(wav), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(SAMPLE_RATE)
                f.writeframes(pcm)
            api = httpx.Client(
                base_url=f"{base}/v1", headers={"Authorization": f"Bearer {key}"}, timeout=600
            )
            transcript = batch(api, wav)
            words = [t for t in transcript["tokens"] if t["text"].strip()]
            first_end = words[0]["end_ms"] / 1000
            print(f"audio {audio_s:.1f} s ({len(files)} recordings); batch transcript ready")
            rows = []
            runs = [(f"1x, {n} session(s)", n, False) for n in levels]
            for label, sessions, fast in runs + ([("fast", 1, True)] if args.fast else []):
                streams = asyncio.run(together(url, key, pcm, first_end, sessions, fast))
                rows.append(
                    summarize(label, streams, transcript["text"], normalize(reference), audio_s)
                )
                print(json.dumps(rows[-1]))
            batch_wer = jiwer.wer(normalize(reference), normalize(transcript["text"]))
            print(f"batch WER vs reference: {batch_wer:.3f}")
            for row in rows:
                row["keeps_up"] = (
                    not row["errors"]
                    and (row["median_final_lag_s"] or 0) <= args.max_lag
                    and row["fin_latency_s"] <= args.max_lag
                )
            kept = [r["sessions"] for r in rows if r["label"].startswith("1x") and r["keeps_up"]]
            print(f"concurrent sessions keeping up with real time: {max(kept, default=0)}")
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
    channel = None
    if args.boundary_files:  # after the server stopped: its engine is not competing
        channel = boundary(speech(files[: args.boundary_files])[0])
        print(f"engine-process boundary per call: {json.dumps(channel)}")
    if args.json:
        figures = {"audio_s": audio_s, "batch_wer": batch_wer, "rows": rows, "boundary": channel}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

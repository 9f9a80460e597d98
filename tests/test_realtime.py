"""Live recognition on WS /transcribe-websocket with the official soniox 2.10 SDK (sync and
async) and a plain websocket client: tokens while audio is still being sent, finalize,
pause/resume, endpoints, raw layouts and containers, limits and bad input."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Iterator

import jiwer
import numpy as np
import pytest
from soniox import AsyncSonioxClient, SonioxClient
from soniox.types import RealtimeSTTConfig
from websockets.sync.client import connect

from hark.engine import SAMPLE_RATE, decode_audio
from support import DEV_CLEAN, JFK, Server, eventually, normalize, send_frames, start_server
from support.media import encode_bytes
from support.services import free_port

KITTENS = DEV_CLEAN / "1988-24833-0000.flac"  # "the two stray kittens gradually make ..."
CHUNK_S = 0.1


def sdk(server: Server, cls=SonioxClient):
    return cls(
        api_key=server.api_key,
        api_base_url=server.base_url,
        websocket_base_url=f"ws://127.0.0.1:{server.port}/transcribe-websocket",
    )


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def chunks(data: bytes, seconds: float = CHUNK_S, rate: int = SAMPLE_RATE) -> list[bytes]:
    size = int(seconds * rate) * 2
    return [data[i : i + size] for i in range(0, len(data), size)]


RAW_CONFIG = {"audio_format": "pcm_s16le", "sample_rate": SAMPLE_RATE, "num_channels": 1}


def final_text(events) -> str:
    return "".join(t.text for e in events for t in e.tokens if t.is_final)


def test_sync_sdk_live_tokens_finalize_pause_resume(server):
    """Tokens arrive while audio is still being sent (at real-time pace); finalize() gets
    <fin>; pause() and resume() keep the session; the end finishes it."""
    audio = pcm16(decode_audio(JFK))
    pieces = chunks(audio)
    half = int(3.3 / CHUNK_S)  # the pause after "my fellow Americans"
    config = RealtimeSTTConfig(model="stt-rt-v5", **RAW_CONFIG)
    events: list[tuple[float, object]] = []
    sent_all = threading.Event()
    with sdk(server).realtime.stt.connect(config=config) as session:

        def send() -> None:
            for piece in pieces[:half]:
                session.send_byte_chunk(piece)
                time.sleep(CHUNK_S)
            session.pause()  # finalize, then keepalives while "muted"
            time.sleep(1.5)
            session.resume()
            for piece in pieces[half:]:
                session.send_byte_chunk(piece)
                time.sleep(CHUNK_S)
            sent_all.set()
            session.finish()

        sender = threading.Thread(target=send)
        sender.start()
        for event in session.receive_events():
            events.append((time.monotonic(), event, sent_all.is_set()))
        sender.join()
    assert not [e.error_message for _, e, _ in events if e.error_code]
    assert events[-1][1].finished
    live = [e for _, e, done in events if not done and e.tokens]
    assert any(t.is_final for e in live for t in e.tokens if t.text not in ("<fin>",))
    assert any(not t.is_final for e in live for t in e.tokens), "non-final tail shown"
    texts = [t.text for _, e, _ in events for t in e.tokens if t.is_final]
    assert texts.count("<fin>") == 1
    fin = texts.index("<fin>")
    assert normalize("".join(texts[:fin])).endswith("fellow americans")
    # Pausing cuts the audio mid-speech: the words around the cut may come out a little
    # differently from one run to the next, so the whole is held to a word error rate.
    text = normalize(final_text(e for _, e, _ in events).replace("<fin>", " "))
    assert jiwer.wer(normalize(JFK.with_suffix(".txt").read_text()), text) <= 0.15, text
    assert "for your country" in text
    for _, event, _ in events:
        assert event.final_audio_proc_ms <= event.total_audio_proc_ms
    assert events[-1][1].total_audio_proc_ms == len(audio) // 32


def test_async_sdk_endpoint_detection(server):
    """Speech, silence longer than max_endpoint_delay_ms, speech: an <end> after each
    utterance, and every token before it final."""
    speech = decode_audio(KITTENS)
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    audio = pcm16(np.concatenate([speech, silence, speech, silence]))
    config = RealtimeSTTConfig(
        model="stt-rt-v5", enable_endpoint_detection=True, max_endpoint_delay_ms=800, **RAW_CONFIG
    )

    async def run() -> list:
        client = sdk(server, AsyncSonioxClient)
        async with client.realtime.stt.connect(config=config) as session:

            async def send() -> None:
                for piece in chunks(audio):
                    await session.send_byte_chunk(piece)
                    await asyncio.sleep(CHUNK_S)
                await session.finish()

            sender = asyncio.create_task(send())
            events = []
            async for event in session.receive_events():
                events.append(event)
                live.append(not sender.done() and any(t.text[:1] != "<" for t in event.tokens))
            await sender
            return events

    live: list[bool] = []
    events = asyncio.run(run())
    assert any(live), "tokens arrived while audio was still being sent"
    assert events[-1].finished
    texts = [t.text for e in events for t in e.tokens if t.is_final]
    assert texts.count("<end>") == 2
    first = normalize("".join(texts[: texts.index("<end>")]))
    assert "two stray kittens" in first
    for event in events:  # what precedes an <end> is final (speech after it may not be)
        texts = [t.text for t in event.tokens]
        if "<end>" in texts:
            assert all(t.is_final for t in event.tokens[: texts.index("<end>")])


def stream_through_sdk(server: Server, data: bytes, size: int, **config) -> str:
    settings = RealtimeSTTConfig(model="stt-rt-v5", **config)
    with sdk(server).realtime.stt.connect(config=settings) as session:
        session.send_bytes(iter([data[i : i + size] for i in range(0, len(data), size)]))
        events = list(session.receive_events())
    assert not [e.error_message for e in events if e.error_code]
    assert events[-1].finished
    return normalize(final_text(events))


@pytest.mark.parametrize(
    ("audio_format", "muxer", "codec", "rate", "channels"),
    [
        ("pcm_s16le", "s16le", "pcm_s16le", 16_000, 1),
        ("pcm_s16be", "s16be", "pcm_s16be", 16_000, 1),
        ("pcm_f32le", "f32le", "pcm_f32le", 44_100, 1),
        ("mulaw", "mulaw", "pcm_mulaw", 8_000, 1),
        ("alaw", "alaw", "pcm_alaw", 8_000, 1),
        ("pcm_s16le", "s16le", "pcm_s16le", 48_000, 2),
    ],
)
def test_raw_formats(server, audio_format, muxer, codec, rate, channels):
    data = encode_bytes(KITTENS, muxer, codec, rate, channels)
    text = stream_through_sdk(
        server, data, 3001, audio_format=audio_format, sample_rate=rate, num_channels=channels
    )
    assert "two stray kittens" in text


@pytest.mark.parametrize(("container", "codec"), [("ogg", "libopus"), ("mp3", "libmp3lame")])
def test_container_streamed_in_small_chunks(server, container, codec):
    data = encode_bytes(KITTENS, container, codec, 48_000)
    assert "two stray kittens" in stream_through_sdk(server, data, 1000)  # audio_format auto


# -- bad input: an error message with the envelope's fields, then a clean close ---------


def session_messages(server: Server, *frames: str | bytes, auth: bool = True) -> list[dict]:
    url = f"ws://127.0.0.1:{server.port}/transcribe-websocket"
    headers = {"Authorization": f"Bearer {server.api_key}"} if auth else {}
    with connect(url, additional_headers=headers) as ws:
        send_frames(ws, *frames)
        return [json.loads(m) for m in ws]


def session_when_free(server: Server, *frames: str | bytes, within: float = 3) -> list[dict]:
    """A new session's messages once the session cap lets it in, trying for `within`
    seconds (less than the idle timeout: the place was freed because the client left). The
    server frees it as soon as it notices, which a loaded machine may delay a little."""
    deadline = time.monotonic() + within
    while True:
        messages = session_messages(server, *frames)
        if messages[-1].get("error_code") != 429 or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def assert_session_error(messages: list[dict], code: int, text: str) -> None:
    error = messages[-1]
    assert set(error) == {"error_code", "error_message", "error_type", "request_id"}
    assert error["error_code"] == code and text in error["error_message"], error


CONFIG = json.dumps({"model": "stt-rt-v5"})


@pytest.mark.parametrize(
    ("frames", "code", "text"),
    [
        (["{not json"], 400, "Invalid config"),
        ([json.dumps({"model": "stt-rt-v5", "sample_rate": "fast"})], 400, "sample_rate"),
        ([json.dumps({"model": "stt-rt-v5", "max_endpoint_delay_ms": 50})], 400, "max_endpoint"),
        ([json.dumps({"model": "stt-rt-v5", "audio_format": "opus"})], 400, "'opus'"),
        (
            [json.dumps({"model": "stt-rt-v5", "audio_format": "mulaw", "sample_rate": 8000})],
            400,
            "needs sample_rate and num_channels",
        ),
        ([b"\x00\x01"], 400, "first message must be the JSON config"),
        ([CONFIG, "hello"], 400, "must be JSON"),
        ([CONFIG, b"\x00garbage" * 8000, ""], 400, "could not be decoded"),
    ],
)
def test_bad_input_gets_an_error_and_a_close(server, frames, code, text):
    assert_session_error(session_messages(server, *frames), code, text)


def test_audio_is_refused_before_authentication(server):
    messages = session_messages(server, CONFIG, pcm16(np.zeros(1600, np.float32)), auth=False)
    assert_session_error(messages, 401, "")
    assert len(messages) == 1


# -- limits, a vanished client, the idle timeout ---------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("hark-rt"),
        api_key="hark_test_" + secrets.token_hex(8),
        workers="0",
        realtime_max_sessions="1",
        realtime_idle_timeout="6",
        grpc_port=str(free_port()),
    )
    yield srv
    srv.stop()


def test_session_cap_and_a_vanished_client_frees_its_place_at_once(limited):
    url = f"ws://127.0.0.1:{limited.port}/transcribe-websocket"
    auth = {"Authorization": f"Bearer {limited.api_key}"}
    config = json.dumps({"model": "stt-rt-v5", **RAW_CONFIG})
    audio = pcm16(decode_audio(JFK))
    ws = connect(url, additional_headers=auth)
    ws.send(config)
    for piece in chunks(audio)[:20]:
        ws.send(piece)
    ws.recv(timeout=60)  # the session is live
    ws.send(json.dumps({"type": "keepalive"}))  # (and not idle)
    assert_session_error(session_messages(limited, config), 429, "Too many realtime sessions")
    ws.socket.close()  # vanish without a close frame
    scratch = limited.data_dir / "downloads"  # its audio goes too, well before the idle timeout
    eventually(lambda: not [p for p in scratch.rglob("*") if p.is_file()], 3, "audio left")
    messages = session_when_free(limited, config, *chunks(audio)[:10], "")
    assert messages[-1]["finished"] is True, messages


def test_a_cancelled_grpc_stream_frees_its_session_at_once(limited):
    """TranscribeStream shares the session cap; a call cancelled mid-stream frees its place."""
    import grpc

    from hark.api.grpc import speech_service_pb2 as pb
    from hark.api.grpc.speech_service_pb2_grpc import SpeechServiceStub

    config = pb.TranscriptionConfig(
        audio_format="pcm_s16le", sample_rate_hertz=16_000, num_audio_channels=1
    )
    audio = chunks(pcm16(decode_audio(JFK)))
    sending = threading.Event()

    def requests():
        yield pb.TranscribeStreamRequest(api_key=limited.api_key, config=config)
        for piece in audio:
            yield pb.TranscribeStreamRequest(audio=piece)
            sending.set()
            time.sleep(CHUNK_S)

    port = int(limited.env["HARK_GRPC_PORT"])
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = SpeechServiceStub(channel).TranscribeStream(requests())
        first = next(call)  # live: words while audio is still being sent
        assert first.result.words and sending.is_set()
        assert first.result.total_proc_time_ms < len(audio) * CHUNK_S * 1000
        config_message = json.dumps({"model": "stt-rt-v5", **RAW_CONFIG})
        assert_session_error(session_messages(limited, config_message), 429, "Too many")
        call.cancel()
    messages = session_when_free(limited, config_message, *audio[:10], "")
    assert messages[-1]["finished"] is True, messages


def test_idle_session_times_out(limited):
    messages = session_messages(limited, json.dumps({"model": "stt-rt-v5", **RAW_CONFIG}))
    assert_session_error(messages, 408, "timed out")


def test_project_duration_and_size_limits_hold(limited):
    project = "rt-" + secrets.token_hex(4)
    key = limited.new_key(project)
    limited.hark("limits", f"--project={project}", "--max-audio-duration-seconds=2")
    url = f"ws://127.0.0.1:{limited.port}/transcribe-websocket"
    with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        send_frames(
            ws,
            json.dumps({"model": "stt-rt-v5", **RAW_CONFIG}),
            *chunks(pcm16(decode_audio(KITTENS))),
        )
        messages = [json.loads(m) for m in ws]
    assert_session_error(messages, 400, "longer than the maximum of 2 s")
    limited.hark("limits", f"--project={project}", "--reset")
    limited.hark("limits", f"--project={project}", "--max-file-size=1000")
    with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        ws.send(json.dumps({"model": "stt-rt-v5", **RAW_CONFIG}))
        ws.send(b"\x00" * 2000)
        messages = [json.loads(m) for m in ws]
    assert_session_error(messages, 413, "exceeded 1000 bytes")


def test_models_list_realtime_ids(server):
    models = {m["id"]: m for m in server.client().get("/models").json()["models"]}
    live = {i for i, m in models.items() if m["transcription_mode"] == "real_time"}
    assert live == {"stt-rt-v5", "stt-rt-v4", "stt-rt-v3", "stt-rt-preview"}

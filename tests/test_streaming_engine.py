"""The streaming recogniser and the incremental decoders, on real speech through the real
model (no server): chunks in, final and non-final tokens out."""

from __future__ import annotations

import time

import jiwer
import numpy as np
import pytest

from hark.engine import (
    END,
    FIN,
    RAW_FORMATS,
    SAMPLE_RATE,
    AudioDecodeError,
    EngineConfig,
    StreamingConfig,
    StreamingRecognizer,
    TranscribeOptions,
    decode_audio,
    get_engine,
    stream_decoder,
)
from hark.engine.batching import first_round
from support import DEV_CLEAN, JFK, normalize
from support.media import encode_bytes

CLIPS = ["1988-24833-0000.flac", "1988-24833-0001.flac", "3752-4944-0002.flac"]
CHUNK = SAMPLE_RATE // 10  # 100 ms, as a live client sends


@pytest.fixture(scope="module")
def engine():
    return get_engine(EngineConfig())


def speech_with_pauses(pause_s: float = 1.5) -> tuple[np.ndarray, str]:
    """Real dev-clean utterances separated by silence, and their reference text."""
    silence = np.zeros(int(pause_s * SAMPLE_RATE), np.float32)
    pieces, texts = [], []
    for name in CLIPS:
        pieces += [decode_audio(DEV_CLEAN / name), silence]
        texts.append((DEV_CLEAN / name).with_suffix(".txt").read_text())
    return np.concatenate(pieces), " ".join(texts)


def stream(recognizer: StreamingRecognizer, audio: np.ndarray) -> list:
    updates = [recognizer.feed(audio[i : i + CHUNK]) for i in range(0, len(audio), CHUNK)]
    return [u for u in updates if u is not None]


def test_streamed_text_matches_batch_and_each_final_token_comes_once(engine):
    audio, reference = speech_with_pauses()
    recognizer = StreamingRecognizer(engine, config=StreamingConfig(trim_seconds=4))
    updates = stream(recognizer, audio)
    # Live: words became final, and others were shown as non-final, before the end.
    assert sum(len(u.final) for u in updates) >= 10
    assert any(u.tentative for u in updates)
    last = recognizer.finalize()
    assert last.final[-1].text == FIN and last.final_ms == last.total_ms == len(audio) // 16
    finals = [t for u in updates for t in u.final] + last.final[:-1]
    starts = [t.start_ms for t in finals]
    assert starts == sorted(starts), "final tokens go forward in time, never repeat"
    assert all(0 <= t.confidence <= 1 and t.language == "en" for t in finals)
    assert all(t.end_ms <= len(audio) // 16 for t in finals)
    streamed = normalize("".join(t.text for t in finals))
    batch = normalize(engine.transcribe(audio).text)
    reference = normalize(reference)
    streamed_wer, batch_wer = jiwer.wer(reference, streamed), jiwer.wer(reference, batch)
    print(f"WER streamed {streamed_wer:.3f}, batch {batch_wer:.3f}")
    assert streamed_wer <= batch_wer + 0.05
    # The buffer was cut at committed boundaries: updates never decode the whole stream.
    progress = [u.final_ms for u in updates]
    assert progress == sorted(progress) and progress[-1] > 10_000


def test_a_streaming_window_is_encoded_at_its_own_length(engine, monkeypatch):
    # Whisper's 30 s of encoder input cost four times as much as a window of a few seconds:
    # a 4 s window is read as 4 s and 2 s of silence.
    shapes = []
    encode = engine._model.encode
    monkeypatch.setattr(engine._model, "encode", lambda f: shapes.append(f.shape) or encode(f))
    clip = DEV_CLEAN / CLIPS[0]
    tokens = engine.decode_window(decode_audio(clip)[: 4 * SAMPLE_RATE], None, None, (), 500, 1)
    assert [shape[-1] for shape in shapes] == [600]
    assert (
        tokens[0].text.split()[0].lower() == clip.with_suffix(".txt").read_text().split()[0].lower()
    )
    assert 500 <= tokens[0].start_ms < tokens[-1].end_ms <= 4500


def test_a_looping_hypothesis_keeps_itsfirst_round():
    assert first_round([1, 2, 3, 4, 3, 4, 3, 4]) == [1, 2, 3, 4]
    assert first_round([1, 2, 3, 4, 3, 4, 3, 4, 3]) == [1, 2, 3, 4]  # cut mid-round
    assert first_round([7, 7, 7, 7]) == [7]
    assert first_round([1, 2, 3, 2, 3]) is None  # said twice: not a loop
    assert first_round([1, 2, 3]) is None


def test_endpoint_after_speech_and_silence(engine):
    audio, _ = speech_with_pauses(pause_s=2.0)
    config = StreamingConfig(endpoint_delay_ms=800)
    updates = stream(StreamingRecognizer(engine, config=config), audio)
    ends = [(u.total_ms, t) for u in updates for t in u.final if t.text == END]
    assert len(ends) == len(CLIPS), "one <end> per utterance"
    for total_ms, token in ends:
        assert token.start_ms == total_ms
    # Every word before an <end> is final: the update that carries it has no tail.
    assert all(not u.tentative for u in updates if any(t.text == END for t in u.final))


def test_silence_only_decodes_nothing(engine):
    recognizer = StreamingRecognizer(engine)
    updates = stream(recognizer, np.zeros(5 * SAMPLE_RATE, np.float32))
    assert updates and not any(u.final or u.tentative for u in updates)
    assert len(recognizer._buffer) < SAMPLE_RATE, "silence is dropped as it arrives"
    assert [t.text for t in recognizer.finalize().final] == [FIN]


def test_prompt_and_terms_reach_the_decoder(engine):
    audio = decode_audio(JFK)
    options = TranscribeOptions(hotwords=("Kennedy",), prompt="President Kennedy's speech.")
    recognizer = StreamingRecognizer(engine, options)
    seen = []
    original = engine.decode_window

    def spy(*args, **kwargs):
        seen.append(args)
        return original(*args, **kwargs)

    engine.decode_window = spy
    try:
        stream(recognizer, audio)
        text = "".join(t.text for t in recognizer.finalize().final)
    finally:
        del engine.decode_window
    assert seen and all(args[2].startswith("President Kennedy's speech.") for args in seen)
    assert all(args[3] == ("Kennedy",) for args in seen)
    assert text.endswith(FIN)


def test_context_terms_are_spelled_as_given_live(engine):
    """As in batch (terms.py): whatever casing the decoder picks for a context term,
    streamed tokens carry the term as the user spelled it (within one update: a term of
    several words committed across two updates keeps the decoder's spelling)."""
    recognizer = StreamingRecognizer(engine, TranscribeOptions(hotwords=("AMERICANS",)))
    updates = [*stream(recognizer, decode_audio(JFK)), recognizer.finalize()]
    final = "".join(t.text for u in updates for t in u.final)
    assert "fellow AMERICANS" in final, final


def _encode(container: str, codec: str, rate: int, channels: int = 1) -> bytes:
    return encode_bytes(JFK, container, codec, rate, channels)


def _decode_in_chunks(data: bytes, size: int, *args) -> np.ndarray:
    decoder = stream_decoder(*args)
    pieces = [decoder.feed(data[i : i + size]) for i in range(0, len(data), size)]
    return np.concatenate([*pieces, decoder.finish()])


# FFmpeg's raw muxers and codecs write each layout independently of Hark's decoder.
RAW = {
    "pcm_s8": ("s8", "pcm_s8"),
    "pcm_u8": ("u8", "pcm_u8"),
    "pcm_s16le": ("s16le", "pcm_s16le"),
    "pcm_s16be": ("s16be", "pcm_s16be"),
    "pcm_s24le": ("s24le", "pcm_s24le"),
    "pcm_s24be": ("s24be", "pcm_s24be"),
    "pcm_s32le": ("s32le", "pcm_s32le"),
    "pcm_s32be": ("s32be", "pcm_s32be"),
    "pcm_u16le": ("u16le", "pcm_u16le"),
    "pcm_u16be": ("u16be", "pcm_u16be"),
    "pcm_u24le": ("u24le", "pcm_u24le"),
    "pcm_u24be": ("u24be", "pcm_u24be"),
    "pcm_u32le": ("u32le", "pcm_u32le"),
    "pcm_u32be": ("u32be", "pcm_u32be"),
    "pcm_f32le": ("f32le", "pcm_f32le"),
    "pcm_f32be": ("f32be", "pcm_f32be"),
    "pcm_f64le": ("f64le", "pcm_f64le"),
    "pcm_f64be": ("f64be", "pcm_f64be"),
    "mulaw": ("mulaw", "pcm_mulaw"),
    "alaw": ("alaw", "pcm_alaw"),
}


def test_every_raw_format_is_known():
    assert set(RAW) == set(RAW_FORMATS)


@pytest.mark.parametrize("audio_format", sorted(RAW))
@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44_100, 2)])
def test_raw_formats_decode_in_odd_chunks(audio_format, rate, channels):
    container, codec = RAW[audio_format]
    data = _encode(container, codec, rate, channels)
    decoded = _decode_in_chunks(data, 1001, audio_format, rate, channels)  # splits samples
    reference = decode_audio(JFK)
    n = min(len(decoded), len(reference))
    assert abs(len(decoded) - len(reference)) < SAMPLE_RATE // 50
    assert np.corrcoef(decoded[:n], reference[:n])[0, 1] > 0.99


@pytest.mark.parametrize(
    ("container", "codec"), [("mp3", "libmp3lame"), ("ogg", "libopus"), ("webm", "libopus")]
)
def test_containers_decode_while_bytes_arrive(container, codec):
    data = _encode(container, codec, 48_000)
    decoder = stream_decoder("auto")
    early = 0
    step = len(data) // 20
    for i in range(0, len(data) - step, step):
        early += len(decoder.feed(data[i : i + step]))
        time.sleep(0.05)  # the decoding thread runs as the bytes arrive
    assert early > 5 * SAMPLE_RATE, "samples came out before the stream ended"
    late = len(decoder.feed(data[i + step :])) + len(decoder.finish())
    assert abs(early + late - len(decode_audio(JFK))) < SAMPLE_RATE // 10


def test_undecodable_bytes_and_unknown_formats_are_reported():
    decoder = stream_decoder("auto")
    with pytest.raises(AudioDecodeError, match="could not be decoded"):
        decoder.feed(b"\x00garbage" * 10_000)
        decoder.finish()
    with pytest.raises(AudioDecodeError, match="Unsupported audio_format 'pcm_s12le'"):
        stream_decoder("pcm_s12le", 16_000, 1)
    with pytest.raises(AudioDecodeError, match="needs sample_rate and num_channels"):
        stream_decoder("pcm_s16le")

"""Separate recognition per channel (a Hark extension): a stereo call with one speaker per
channel comes back with each channel's words tagged with its channel, in time order."""

from __future__ import annotations

from conftest import AUDIO, DEV_CLEAN, JFK, normalize, transcribe
from hark.client import Client, CreateTranscriptionConfig
from hark.engine import Token, decode_channels
from hark.engine.transcript import interleave_channels

STEREO = AUDIO / "telephony" / "stereo_diarization.wav"
LEFT = "he began a confused complaint against the wizard who had vanished behind the curtain"
RIGHT = "the horizon seems extremely distant"


def channel_text(tokens: list[dict], channel: int) -> str:
    return normalize("".join(t["text"] for t in tokens if t.get("channel") == channel))


def test_each_channel_is_transcribed_on_its_own(api):
    job, transcript = transcribe(api, STEREO, enable_separate_recognition_per_channel=True)
    assert job["status"] == "completed", job
    assert job["enable_separate_recognition_per_channel"] is True
    tokens = transcript["tokens"]
    assert {t["channel"] for t in tokens} == {0, 1}
    assert LEFT in channel_text(tokens, 0)
    assert RIGHT in channel_text(tokens, 1)
    assert transcript["text"] == "".join(t["text"] for t in tokens)
    # Each channel's words stay together and in order.
    for channel in (0, 1):
        starts = [t["start_ms"] for t in tokens if t["channel"] == channel]
        assert starts == sorted(starts)


def test_without_the_flag_tokens_carry_no_channel(api):
    job, transcript = transcribe(api, JFK)
    assert job["enable_separate_recognition_per_channel"] is False
    assert not any("channel" in t for t in transcript["tokens"])


def test_hark_client_sends_the_extension(server):
    with Client(api_key=server.api_key, api_base_url=server.base_url) as client:
        config = CreateTranscriptionConfig(enable_separate_recognition_per_channel=True)
        transcript = client.stt.transcribe_and_wait_with_tokens(
            file=STEREO, config=config, delete_after=True
        )
    assert {token.channel for token in transcript.tokens} == {0, 1}


def test_decode_channels_keeps_the_layout():
    left, right = decode_channels(STEREO)
    assert len(left) == len(right) == 5 * 16_000
    mono = next(DEV_CLEAN.rglob("*.flac"))
    assert len(decode_channels(mono)) == 1


def test_utterances_interleave_by_start_time():
    def words(channel: int, *items: tuple[str, int]) -> list[Token]:
        return [Token(text, start, start + 200, channel=channel) for text, start in items]

    left = words(0, ("Hello", 0), (" there.", 300), (" Bye", 5000), (" now.", 5300))
    right = words(1, ("Hi.", 2000), (" Yes", 7000))
    merged = interleave_channels([left, right])
    assert "".join(t.text for t in merged) == "Hello there. Hi. Bye now. Yes"
    assert [t.channel for t in merged] == [0, 0, 1, 0, 0, 1]

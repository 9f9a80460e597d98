"""Separate recognition per channel (a Hark extension): a stereo call with one speaker per
channel comes back with each channel's words tagged with its channel, in time order."""

from __future__ import annotations

import secrets
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from hark.client import Client, CreateTranscriptionConfig
from hark.engine import AudioDecodeError, Token, decode_audio, decode_channels
from hark.engine.audio import MAX_CHANNELS
from hark.engine.transcript import interleave_channels
from support import AUDIO, DEV_CLEAN, JFK, create_job, normalize, transcribe, upload, wait_for
from support.services import ensure_installed

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


# -- multitrack recordings: every channel count a mixer writes, each channel its own voice ----

SECONDS = 3
# Nine different real recordings (LibriSpeech dev-clean), one per channel.
TRACKS = sorted(p for p in DEV_CLEAN.iterdir() if p.suffix in (".flac", ".wav"))[:9]


@pytest.fixture(scope="module")
def multitrack(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """16-bit WAVs with 1 to 9 channels as sox writes them (WAVE_FORMAT_EXTENSIBLE with a
    channel mask: 8 channels are a 7.1 layout), channel i holding the first seconds of
    TRACKS[i]."""
    ensure_installed("sox")
    assert len(TRACKS) == 9
    folder = tmp_path_factory.mktemp("multitrack")
    clips = []
    for index, track in enumerate(TRACKS):
        clip = folder / f"track{index}.wav"
        subprocess.run(["sox", track, "-b", "16", clip, "trim", "0", str(SECONDS)], check=True)
        clips.append(clip)
    files = {1: clips[0]}
    for count in range(2, 10):
        files[count] = folder / f"{count}ch.wav"
        subprocess.run(["sox", "-M", *clips[:count], files[count]], check=True)
    return files


def own_words_share(heard: str, track: Path) -> float:
    """The share of the words heard on a channel that its own recording's reference has."""
    said = set(normalize(track.with_suffix(".txt").read_text()).split())
    words = normalize(heard).split()
    return sum(w in said for w in words) / max(len(words), 1)


@pytest.mark.parametrize("count", range(1, MAX_CHANNELS + 1))
def test_every_channel_count_up_to_eight_is_recognised_per_channel(api, multitrack, count):
    job, transcript = transcribe(
        api, multitrack[count], enable_separate_recognition_per_channel=True
    )
    assert job["status"] == "completed", job
    tokens = transcript["tokens"]
    assert transcript["text"] == "".join(t["text"] for t in tokens)
    assert {t["channel"] for t in tokens} == set(range(count))
    for channel in range(count):
        heard = "".join(t["text"] for t in tokens if t["channel"] == channel)
        # Each channel carries its own recording, not a mix or a neighbour.
        assert len(normalize(heard).split()) >= 3, (channel, heard)
        assert own_words_share(heard, TRACKS[channel]) >= 0.6, (channel, heard)


def test_more_than_eight_channels_are_refused_per_channel_but_mixed_otherwise(api, multitrack):
    file_id = upload(api, multitrack[9])["id"]
    job = wait_for(
        api, create_job(api, file_id, enable_separate_recognition_per_channel=True)["id"]
    )
    assert job["status"] == "error"
    assert job["error_type"] == "too_many_channels"
    assert job["error_message"] == (
        "The audio has 9 channels; separate recognition per channel handles at most 8."
    )
    mixed = wait_for(api, create_job(api, file_id)["id"])
    assert mixed["status"] == "completed", mixed


def test_channels_times_seconds_count_against_the_duration_limit(server, multitrack):
    """A short file with many channels is as much work as a long one: per-channel
    recognition is refused while decoding once channels x seconds pass the limit."""
    project = "channels-" + secrets.token_hex(4)
    key = server.new_key(project)
    limit = 2 * SECONDS + 1  # 8 channels x 3 s = 24 s of recognition, the mix 3 s
    server.hark("limits", f"--project={project}", f"--max-audio-duration-seconds={limit}")
    with server.client(key) as client:
        file_id = upload(client, multitrack[8])["id"]
        job = wait_for(
            client,
            create_job(client, file_id, enable_separate_recognition_per_channel=True)["id"],
        )
        assert job["status"] == "error"
        assert job["error_type"] == "audio_too_long"
        assert "8 channels" in job["error_message"] and f"{limit:g} s" in job["error_message"]
        mixed = wait_for(client, create_job(client, file_id)["id"])
        assert mixed["status"] == "completed", mixed


def test_decoding_counts_channels_against_max_seconds(multitrack):
    assert len(decode_channels(multitrack[8], max_seconds=8 * SECONDS + 1)) == 8
    with pytest.raises(AudioDecodeError) as info:
        decode_channels(multitrack[8], max_seconds=8 * SECONDS - 1)
    assert info.value.error_type == "audio_too_long"
    # The mix of the same file is one channel's worth.
    assert len(decode_audio(multitrack[8], max_seconds=SECONDS + 1)) == SECONDS * 16_000
    with pytest.raises(AudioDecodeError) as info:
        decode_channels(multitrack[9])
    assert info.value.error_type == "too_many_channels"


def test_decoded_channels_are_the_tracks_in_order(multitrack):
    """Channel i of every layout (1 to 8 channels) is sample for sample track i; more
    channels than FFmpeg has positions for are mixed to mono as their average."""
    tracks = [decode_audio(p) for p in sorted(multitrack[1].parent.glob("track*.wav"))]
    for count in range(1, MAX_CHANNELS + 1):
        channels = decode_channels(multitrack[count])
        assert len(channels) == count
        for channel, track in zip(channels, tracks, strict=False):
            assert len(channel) == SECONDS * 16_000
            assert channel.tolist() == track.tolist()
    mix = decode_audio(multitrack[9])
    assert np.abs(mix - np.mean(tracks, axis=0)).max() < 1e-6


def peak_rss_growth_mib(action) -> float:
    """How far the process's peak RSS (VmHWM) rises above its RSS while `action` runs."""

    def kib(field: str) -> int:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
        return int(line.split()[1])

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (peak RSS) to the current RSS
    before = kib("VmRSS")
    action()
    return (kib("VmHWM") - before) / 1024


def test_channels_decode_to_memory_maps_in_bounded_memory(tmp_path):
    """Each channel streams to its own scratch file and comes back memory-mapped: 8 channels
    x 5 minutes (150 MiB of float32 samples, 4x that when decoded into one array and
    converted) raise the peak RSS by a few MiB, whatever channels x duration is."""
    channels, minutes = 8, 5
    path = tmp_path / "eight-tracks.wav"
    second = np.arange(16_000)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(16_000)
        for index in range(minutes * 60):
            # Channel c holds the running sample count of its second, plus c: each channel
            # and each second recognisable.
            block = (second[:, None] + index % 7 * 1000 + np.arange(channels)) * 2
            out.writeframes(block.astype("<i2").tobytes())
    decoded: list[np.ndarray] = []
    growth = peak_rss_growth_mib(lambda: decoded.extend(decode_channels(path)))
    assert len(decoded) == channels
    assert growth < 40, f"peak RSS grew {growth:.0f} MiB decoding {channels} x {minutes} min"
    assert all(isinstance(c, np.memmap) and len(c) == minutes * 60 * 16_000 for c in decoded)
    for c, samples in enumerate(decoded):
        at = 61 * 16_000 + 123  # second 61, sample 123
        assert round(float(samples[at]) * 32768) == (123 + 61 % 7 * 1000 + c) * 2

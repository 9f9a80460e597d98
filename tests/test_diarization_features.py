"""senko's filterbank features on any CPU (hark.engine.features): the choice of path from
the CPU's flags, the portable features against senko's native ones where this CPU runs
both, and speaker labels through the API on the portable path."""

from __future__ import annotations

import platform
import secrets
from pathlib import Path

import numpy as np
import pytest

from hark.engine import EngineConfig, decode_audio, diarization_features
from hark.engine.features import NATIVE_NEEDS, choose, cpu_flags, portable_fbank
from scoring import read_stm, token_words, word_speaker_accuracy
from support import AUDIO, create_job, start_server, upload, wait_for

SAMPLE = AUDIO / "diarization" / "pyannote_sample" / "sample.wav"
FOUR_SPEAKERS = AUDIO / "diarization" / "pyannote_ami_debug" / "trn01.wav"
SKYLAKE = frozenset({"sse4_1", "avx", "avx2", "fma", *NATIVE_NEEDS})
ZEN3 = frozenset({"sse4_1", "avx", "avx2", "fma"})
HERE = cpu_flags()
BOTH_RUN_HERE = (
    platform.machine() in ("x86_64", "AMD64") and HERE is not None and (set(NATIVE_NEEDS) <= HERE)
)


def test_cpu_flags_come_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
        "flags\t\t: fpu sse4_1 avx avx2 fma\nbugs\t\t: sysret_ss_attrs\n\n"
        "processor\t: 1\nflags\t\t: fpu sse4_1 avx avx2 fma\n"
    )
    assert cpu_flags(cpuinfo) == ZEN3 | {"fpu"}
    assert cpu_flags(tmp_path / "missing") is None
    (tmp_path / "arm").write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    assert cpu_flags(tmp_path / "arm") is None
    if platform.machine() == "x86_64" and Path("/proc/cpuinfo").exists():
        assert "sse2" in HERE


@pytest.mark.parametrize(
    ("mode", "machine", "flags", "path", "reason"),
    [
        ("auto", "x86_64", SKYLAKE, "native", "CPU has avx512f, avx512bw, avx512dq, avx512vl"),
        ("auto", "x86_64", ZEN3, "portable", "CPU lacks avx512f, avx512bw, avx512dq, avx512vl"),
        # AVX-512 without the byte/word subset (Xeon Phi): still SIGILL.
        (
            "auto",
            "x86_64",
            ZEN3 | {"avx512f", "avx512cd", "avx512er"},
            "portable",
            "CPU lacks avx512bw, avx512dq, avx512vl",
        ),
        ("auto", "x86_64", None, "portable", "CPU features unknown (no /proc/cpuinfo flags)"),
        (
            "auto",
            "aarch64",
            None,
            "portable",
            "senko's native extractor is built for x86-64 with AVX-512; this CPU is aarch64",
        ),
        ("portable", "x86_64", SKYLAKE, "portable", "forced by HARK_DIARIZATION_FEATURES=portable"),
        ("native", "x86_64", SKYLAKE, "native", "forced by HARK_DIARIZATION_FEATURES=native"),
        (
            "native",
            "x86_64",
            ZEN3,
            "native",
            "forced by HARK_DIARIZATION_FEATURES=native although CPU lacks avx512f, avx512bw, "
            "avx512dq, avx512vl: the engine may die of an illegal instruction",
        ),
    ],
)
def test_the_path_follows_the_cpu(mode, machine, flags, path, reason):
    assert choose(mode, machine, flags) == (path, reason)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="auto, native, portable"):
        choose("fast", "x86_64", SKYLAKE)


def test_this_machine_gets_a_path_and_a_reason():
    path, reason = diarization_features(EngineConfig())
    assert path == ("native" if BOTH_RUN_HERE else "portable")
    assert reason
    assert diarization_features(EngineConfig(diarization_features="portable"))[0] == "portable"


@pytest.mark.skipif(not BOTH_RUN_HERE, reason="senko's native extractor needs AVX-512 F/BW/DQ/VL")
@pytest.mark.parametrize("recording", [SAMPLE, FOUR_SPEAKERS], ids=lambda p: p.name)
def test_portable_features_match_senkos_native_ones(recording):
    """Both paths on the same subsegments of real speech: the same frames, features within
    float noise (the native extractor rounds low-energy mel bins differently), and speaker
    embeddings from CAM++ that point the same way."""
    import senko

    diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)
    audio = decode_audio(recording)
    subsegments = diarizer._generate_subsegments([(0.0, len(audio) / 16_000)], False)
    subsegments.append((2.0, 2.01))  # shorter than a frame: padded to one
    native = diarizer._extract_fbank_features(audio, subsegments)
    portable = portable_fbank(audio, subsegments)
    assert native[3] == portable[3] == 80
    assert native[1].tolist() == portable[1].tolist()
    assert portable[1][-1] == 1
    diffs = np.concatenate(
        [
            np.abs(native[0][int(a) : int(a) + n * 80] - portable[0][int(b) : int(b) + n * 80])
            for a, b, n in zip(native[2], portable[2], native[1], strict=True)
        ]
    )
    assert diffs.mean() < 0.01 and np.quantile(diffs, 0.99) < 0.1, (diffs.mean(), diffs.max())
    embeddings = [
        diarizer._generate_embeddings(f[0], f[1], [int(o) for o in f[2]], f[3])
        for f in (native, portable)
    ]
    cosine = (embeddings[0] * embeddings[1]).sum(axis=1) / (
        np.linalg.norm(embeddings[0], axis=1) * np.linalg.norm(embeddings[1], axis=1)
    )
    assert cosine.min() > 0.999


@pytest.fixture(scope="module")
def portable_server(tmp_path_factory):
    srv = start_server(
        tmp_path_factory.mktemp("hark-portable"),
        api_key="hark_test_" + secrets.token_hex(8),
        diarization_features="portable",
    )
    yield srv
    srv.stop()


def _loaded_libraries(pid: int) -> str:
    """The memory maps of a process and its descendants (the engine may run in a child)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            maps += _loaded_libraries(int(child))
    return maps


def test_speakers_through_the_api_on_the_portable_path(portable_server, server):
    """sample.wav's two speakers, as well attributed as on the default path, with senko's
    native library never loaded; the path is logged once."""
    accuracy = {}
    for name, srv in (("portable", portable_server), ("default", server)):
        with srv.client() as client:
            # The first diarization loads senko (and compiles its clustering) first.
            job_id = create_job(
                client, upload(client, SAMPLE)["id"], enable_speaker_diarization=True
            )["id"]
            job = wait_for(client, job_id, timeout=600)
            assert job["status"] == "completed", job
            tokens = client.get(f"/transcriptions/{job_id}/transcript").json()["tokens"]
        assert {t["speaker"] for t in tokens} == {"1", "2"}
        accuracy[name], aligned = word_speaker_accuracy(
            read_stm(SAMPLE.with_suffix(".stm")), token_words(tokens)
        )
        assert aligned >= 60
    assert accuracy["portable"] >= 0.85
    assert accuracy["portable"] >= accuracy["default"] - 0.02, accuracy
    log = portable_server.log()
    line = (
        "diarization features: portable (kaldi-native-fbank): "
        "forced by HARK_DIARIZATION_FEATURES=portable"
    )
    assert log.count(line) == 1, log
    if Path("/proc").is_dir():
        assert "libfbank_extractor" not in _loaded_libraries(portable_server.process.pid)

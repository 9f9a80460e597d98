"""Reference readers and speaker-attribution scoring shared by benchmarks/quality.py and the
tests (no dependency beyond jiwer and scipy, which the test environment has)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jiwer
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Turn:
    start: float  # seconds
    end: float
    speaker: str


def read_rttm(path: Path) -> dict[str, list[Turn]]:
    """uri -> speaker turns (RTTM `SPEAKER` lines)."""
    turns: dict[str, list[Turn]] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.setdefault(fields[1], []).append(Turn(start, start + duration, fields[7]))
    return turns


def read_uem(path: Path) -> dict[str, tuple[float, float]]:
    """uri -> (start, end) of the scored region."""
    regions = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 4:
            regions[fields[0]] = (float(fields[2]), float(fields[3]))
    return regions


def read_stm(path: Path) -> list[tuple[str, str]]:
    """(speaker, word) for every word of an STM file, in time order."""
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and not line.startswith(";;"):
            rows.append((float(fields[3]), fields[2], fields[5]))
    rows.sort()
    return [(speaker, word) for _, speaker, text in rows for word in words(text)]


def normalize(text: str) -> str:
    """Lower-case words without punctuation, for WER against references of any casing."""
    text = re.sub(r"[^\w\s']", " ", text.lower().replace("-", " "))
    return " ".join(w.strip("'") for w in text.split())


def words(text: str) -> list[str]:
    """Lower case, no punctuation (apostrophes inside words kept)."""
    return re.findall(r"[\w']+", text.lower().replace("\u2019", "'"))


def token_words(tokens: Iterable[Mapping]) -> list[tuple[str | None, str]]:
    """(speaker, word) of transcript tokens: a token starting with white space starts a word,
    which takes the speaker of its first piece."""
    out: list[tuple[str | None, str]] = []
    speaker, text = None, ""
    for token in tokens:
        if token.get("translation_status") == "translation":
            continue
        if token["text"][:1].isspace() and text.strip():
            out += [(speaker, w) for w in words(text)]
            text = ""
        if not text.strip():
            speaker = token.get("speaker")
        text += token["text"]
    return out + [(speaker, w) for w in words(text)]


def best_mapping(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Hypothesis speaker -> reference speaker, maximising the pairs that agree."""
    counts = Counter(pairs)
    refs = sorted({r for r, _ in pairs})
    hyps = sorted({h for _, h in pairs})
    cost = [[-counts[(r, h)] for r in refs] for h in hyps]
    rows, cols = linear_sum_assignment(cost)
    return {hyps[i]: refs[j] for i, j in zip(rows, cols, strict=True)}


def word_speaker_accuracy(
    reference: list[tuple[str, str]], hypothesis: list[tuple[str | None, str]]
) -> tuple[float, int]:
    """Share of aligned words (equal or substituted after WER alignment) whose hypothesis
    speaker maps to the reference speaker under the best one-to-one speaker mapping; and
    how many words were aligned."""
    ref_words = [w for _, w in reference]
    hyp_words = [w for _, w in hypothesis]
    output = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words))
    pairs = []
    for chunk in output.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                ref_speaker = reference[chunk.ref_start_idx + offset][0]
                hyp_speaker = hypothesis[chunk.hyp_start_idx + offset][0] or "?"
                pairs.append((ref_speaker, hyp_speaker))
    if not pairs:
        return 0.0, 0
    mapping = best_mapping(pairs)
    correct = sum(mapping.get(h) == r for r, h in pairs)
    return correct / len(pairs), len(pairs)


def turns_from_tokens(tokens: Iterable[Mapping], bridge_ms: int = 0) -> list[Turn]:
    """Speaker turns of a diarized transcript: each run of one speaker's words, from its
    first word's start to its last word's end; pauses within a run shorter than `bridge_ms`
    are bridged, longer ones end the turn."""
    turns: list[Turn] = []
    for token in tokens:
        if token.get("start_ms") is None or token.get("speaker") is None:
            continue
        start, end = token["start_ms"] / 1000, token["end_ms"] / 1000
        last = turns[-1] if turns else None
        if last and last.speaker == token["speaker"] and start - last.end <= bridge_ms / 1000:
            turns[-1] = Turn(last.start, max(last.end, end), last.speaker)
        else:
            turns.append(Turn(start, end, token["speaker"]))
    return turns

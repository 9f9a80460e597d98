"""Language of a sentence's text (lingua, which ships its own models): the second opinion
when the audio language detector is unsure."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache

CONFIDENT = 0.6  # lingua's confidence needed to overrule the audio detector


@lru_cache(maxsize=64)  # one per candidate set; hints make many
def _detector(languages: frozenset[str]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    known = []
    for code in sorted(languages):
        try:
            known.append(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)))
        except ValueError:
            continue  # a language lingua does not know
    if len(known) < 2:
        return None
    return LanguageDetectorBuilder.from_languages(*known).build()


_lock = threading.Lock()


def text_language(text: str, candidates: Iterable[str]) -> str | None:
    """The candidate language `text` is written in, or None when lingua cannot tell with
    CONFIDENT confidence (short or mixed text) or knows fewer than two candidates."""
    with _lock:
        detector = _detector(frozenset(candidates))
    if detector is None or not text.strip():
        return None
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value < CONFIDENT:
        return None
    return values[0].language.iso_code_639_1.name.lower()

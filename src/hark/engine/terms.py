"""Context terms spelled as the user spelled them.

Beam search may decode a context term with other capitals or spacing ("comfyUI", "comfy UI",
"Comfy-UI" for "ComfyUI"), and which one it picks depends on the CPU's SIMD paths (ties break
differently). Where the decoded words match a term ignoring case, spaces and hyphens, this
step gives them the term's exact spelling, so the result is the same on every CPU. It is a
pure function over a token list: batch jobs and streaming can both apply it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .transcript import Token

# Punctuation a word token may carry around the word itself; it stays as decoded.
# (Curly quotes and Unicode hyphens written as escapes: they look like their ASCII kin.)
_WORD = re.compile(
    "^(\\s*)([\"'\u201c\u2018(\\[¿¡]*)(.*?)([.,!?;:\"'\u201d\u2019)\\]…]*)$", re.DOTALL
)
# Spaces and hyphens (ASCII, U+2010, U+2011): "comfy UI" = "comfy-ui" = "comfyui".
_IGNORED = re.compile("[\\s\\-\u2010\u2011]+")


def _key(text: str) -> str:
    return _IGNORED.sub("", text).casefold()


def spellings(terms: Iterable[str], prompt: str | None = None) -> list[str]:
    """The spellings to enforce: every context term, then the words of a prompt whose case
    marks them as names (a capital after the first letter: ComfyUI, iPhone, NASA), unless
    the whole prompt is in capitals. Plain and capitalised prompt words ("the", "The") are
    left to the recogniser: a sentence's first word is capitalised, not a name."""
    found = list(terms)
    if prompt and prompt != prompt.upper():
        found += [w for w in re.findall(r"[\w'-]+", prompt) if any(c.isupper() for c in w[1:])]
    return found


def _core(text: str) -> str:
    """`text` without the leading and trailing punctuation tokens carry (see _WORD)."""
    return _WORD.match(text).group(3)  # type: ignore[union-attr]


@dataclass(frozen=True)
class _Word:
    space: str  # leading whitespace
    opening: str  # punctuation before the word
    core: str
    closing: str  # punctuation after it

    @classmethod
    def of(cls, text: str) -> _Word:
        return cls(*_WORD.match(text).groups())  # type: ignore[union-attr]


def respell(tokens: Sequence[Token], terms: Sequence[str]) -> list[Token]:
    """`tokens` with every run of whole words that matches a term (ignoring case, spaces
    and hyphens) spelled as the term. A run spelled in as many words as the term keeps its
    tokens; otherwise it becomes one token with the first start, the last end and the
    lowest confidence. Punctuation around the run (and around a term) stays as decoded; the
    token texts still make up the transcript, now with the term's spelling."""
    wanted: dict[str, str] = {}  # key -> spelling; the first given wins
    for term in terms:
        core = _core(term.strip())  # punctuation stays as decoded
        if _key(core):
            wanted.setdefault(_key(core), core)
    if not wanted or not tokens:
        return list(tokens)
    longest = max(len(key) for key in wanted)
    words = [_Word.of(t.text) for t in tokens]
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        match = _match_at(tokens, words, index, wanted, longest)
        if match is None:
            out.append(tokens[index])
            index += 1
            continue
        end, term = match
        out += _spelled(tokens[index:end], words[index:end], term)
        index = end
    return out


def _match_at(
    tokens: Sequence[Token], words: list[_Word], start: int, wanted: dict[str, str], longest: int
) -> tuple[int, str] | None:
    """(end, term) of the longest term matching whole words from `start`, if any."""
    if not _starts_word(tokens, words, start) or not words[start].core:
        return None
    best = None
    key = ""
    for end in range(start + 1, len(tokens) + 1):
        word = words[end - 1]
        if end - 1 > start and (word.opening or words[end - 2].closing):
            break  # punctuation inside the run: not one term
        key += _key(word.core)
        if len(key) > longest:
            break
        if key in wanted and _ends_word(tokens, words, end):
            best = (end, wanted[key])
    return best


def _starts_word(tokens: Sequence[Token], words: list[_Word], index: int) -> bool:
    previous = tokens[index - 1].text if index else ""
    return bool(not previous or words[index].space or words[index].opening) or (
        not previous[-1].isalnum()
    )


def _ends_word(tokens: Sequence[Token], words: list[_Word], end: int) -> bool:
    if end == len(tokens) or words[end - 1].closing:
        return True
    following = tokens[end].text
    return not following or not following[0].isalnum()


def _spelled(run: Sequence[Token], words: list[_Word], term: str) -> list[Token]:
    first, last = words[0], words[-1]
    parts = term.split()
    if len(parts) == len(run) and all(
        _key(p) == _key(w.core) for p, w in zip(parts, words, strict=True)
    ):
        # The same words, spaced as decoded: each keeps its own timing.
        return [
            replace(t, text=w.space + w.opening + p + w.closing)
            for t, w, p in zip(run, words, parts, strict=True)
        ]
    confidences = [t.confidence for t in run if t.confidence is not None]
    return [
        replace(
            run[0],
            text=first.space + first.opening + term + last.closing,
            end_ms=run[-1].end_ms if run[-1].end_ms is not None else run[0].end_ms,
            confidence=min(confidences) if confidences else None,
        )
    ]

"""Render transcript tokens as plain text, SubRip (SRT) or WebVTT subtitles.

Pure Python with no dependencies: the server (`GET /v1/transcriptions/{id}/transcript?format=`)
and the client (`Transcript.to_srt()`, `hark transcribe --format srt`) both use it.

Tokens are dicts or objects with `text`, `start_ms`, `end_ms` and optionally `speaker`, as in a
transcript: sub-word or word pieces whose texts concatenate to the transcript text, a piece that
starts with white space starting a new word. Translated tokens are left out: subtitles and
text show what was said. Words are grouped into cues:

- a cue ends at the end of a sentence, at a pause of `pause_ms` or more, and when the speaker
  changes;
- a cue holds at most `max_lines` lines of at most `max_chars` characters (lines are balanced;
  a word longer than a line is cut), and lasts at most `max_duration_ms` unless one word is
  longer than that;
- a cue that already fills two thirds of a line also ends after a clause (`,` `;` `:`);
- cues never overlap and last at least `min_duration_ms` where the next cue leaves room.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_CHARS = 42
MAX_LINES = 2
MAX_DURATION_MS = 7000
PAUSE_MS = 700
MIN_DURATION_MS = 800

FORMATS = ("text", "srt", "vtt")
MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
EXTENSIONS = {"text": ".txt", "srt": ".srt", "vtt": ".vtt", "json": ".json"}

# Includes the CJK full stop, full-width question and exclamation marks and comma.
_SENTENCE_END = (".", "?", "!", "\u2026", "\u3002", "\uff1f", "\uff01")
_CLAUSE_END = (",", ";", ":", "\uff0c", "\u3001")
_CLOSERS = "\"')]}\u201d\u2019\u00bb"


@dataclass
class Word:
    text: str
    start_ms: int | None
    end_ms: int | None
    speaker: str | None = None


@dataclass
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]
    speaker: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _Building:
    words: list[Word] = field(default_factory=list)

    @property
    def start_ms(self) -> int | None:
        return next((w.start_ms for w in self.words if w.start_ms is not None), None)

    @property
    def end_ms(self) -> int | None:
        return next((w.end_ms for w in reversed(self.words) if w.end_ms is not None), None)

    def texts(self, extra: Word | None = None) -> list[str]:
        return [w.text for w in self.words] + ([extra.text] if extra else [])


def _get(token: Any, name: str) -> Any:
    if isinstance(token, Mapping):
        return token.get(name)
    return getattr(token, name, None)


def _speaker(token: Any) -> str | None:
    speaker = _get(token, "speaker")
    return None if speaker is None else str(speaker)


def spoken(tokens: Iterable[Any]) -> Iterator[Any]:
    """The tokens of what was said: translated tokens (untimed) are left out."""
    return (t for t in tokens if _get(t, "translation_status") != "translation")


def words_of(tokens: Iterable[Any]) -> list[Word]:
    """Join token pieces into words (a piece starting with white space starts a word)."""
    words: list[Word] = []
    boundary = True
    for token in spoken(tokens):
        text = _get(token, "text") or ""
        start, end, speaker = _get(token, "start_ms"), _get(token, "end_ms"), _speaker(token)
        new_word = boundary or text[:1].isspace() or speaker != words[-1].speaker
        if text:
            boundary = text[-1].isspace()
        for i, piece in enumerate(text.split()):
            if new_word or i > 0:
                words.append(Word(piece, start, end, speaker))
            else:
                last = words[-1]
                last.text += piece
                last.start_ms = last.start_ms if last.start_ms is not None else start
                last.end_ms = end if end is not None else last.end_ms
    return words


def _split_long(words: list[Word], max_chars: int) -> list[Word]:
    out: list[Word] = []
    for word in words:
        if len(word.text) <= max_chars:
            out.append(word)
            continue
        pieces = [word.text[i : i + max_chars] for i in range(0, len(word.text), max_chars)]
        out += [Word(p, word.start_ms, word.end_ms, word.speaker) for p in pieces]
    return out


def wrap(texts: list[str], max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """Lay words out on as few lines as possible, balanced, each at most `max_chars` long.

    Returns [] when the words do not fit in `max_lines` lines.
    """
    one = " ".join(texts)
    if len(one) <= max_chars:
        return [one] if one else []
    if max_lines < 2:
        return []
    best: list[str] = []
    for cut in range(1, len(texts)):
        head = " ".join(texts[:cut])
        if len(head) > max_chars:
            break
        rest = wrap(texts[cut:], max_chars, max_lines - 1)
        if not rest:
            continue
        lines = [head, *rest]
        if not best or max(map(len, lines)) < max(map(len, best)):
            best = lines
    return best


def cues(
    tokens: Iterable[Any],
    *,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
    max_duration_ms: int = MAX_DURATION_MS,
    pause_ms: int = PAUSE_MS,
    min_duration_ms: int = MIN_DURATION_MS,
) -> list[Cue]:
    """Group tokens into subtitle cues (see the module docstring for the rules)."""
    groups: list[_Building] = []
    current = _Building()
    for word in _split_long(words_of(tokens), max_chars):
        if current.words and _breaks_before(
            current, word, max_chars, max_lines, max_duration_ms, pause_ms
        ):
            groups.append(current)
            current = _Building()
        current.words.append(word)
    if current.words:
        groups.append(current)
    return _timed(groups, max_chars, max_lines, min_duration_ms)


def _sentence_ends(last: Word, word: Word) -> bool:
    """Whether `word` starts a new sentence: `last` ends one, or the speaker changes."""
    return _stops(last.text) or word.speaker != last.speaker


def _stops(word: str) -> bool:
    """Whether `word` ends with a full stop, question or exclamation mark (quotes aside)."""
    return word.rstrip(_CLOSERS).endswith(_SENTENCE_END)


def _breaks_before(
    cue: _Building, word: Word, max_chars: int, max_lines: int, max_duration_ms: int, pause_ms: int
) -> bool:
    last = cue.words[-1]
    ending = last.text.rstrip(_CLOSERS)
    if _sentence_ends(last, word):
        return True
    if ending.endswith(_CLAUSE_END) and 3 * len(" ".join(cue.texts())) >= 2 * max_chars:
        return True
    gap_from = cue.end_ms
    if word.start_ms is not None and gap_from is not None and word.start_ms - gap_from >= pause_ms:
        return True
    if not wrap(cue.texts(word), max_chars, max_lines):
        return True
    start, end = cue.start_ms, word.end_ms
    return start is not None and end is not None and end - start > max_duration_ms


@dataclass
class Sentence:
    start_ms: int | None
    end_ms: int | None
    text: str
    speaker: str | None = None


# Words whose full stop does not end a sentence ("Mr. Quilter"), lower-cased.
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "vs.", "etc."}
_ABBREVIATIONS |= {"e.g.", "i.e.", "no.", "mt."}


def ends_sentence(word: str) -> bool:
    """Whether `word` ends a sentence: it ends with a full stop, question or exclamation mark
    (closing quotes aside) and is not a title or an initial ("Mr.", "J.")."""
    word = word.strip()
    if not _stops(word):
        return False
    return word.lower() not in _ABBREVIATIONS and not re.fullmatch(r"[A-Z]\.", word)


def sentences(tokens: Iterable[Any]) -> list[Sentence]:
    """The transcript as sentences (also ending where the speaker changes), with times."""
    groups: list[_Building] = []
    for word in words_of(tokens):
        last = groups[-1].words[-1] if groups else None
        if last is None or ends_sentence(last.text) or word.speaker != last.speaker:
            groups.append(_Building())
        groups[-1].words.append(word)
    return [Sentence(g.start_ms, g.end_ms, " ".join(g.texts()), g.words[0].speaker) for g in groups]


def _timed(groups: list[_Building], max_chars: int, max_lines: int, min_ms: int) -> list[Cue]:
    out: list[Cue] = []
    previous_end = 0
    for group in groups:
        start = group.start_ms if group.start_ms is not None else previous_end
        start = max(start, previous_end)
        end = max(group.end_ms if group.end_ms is not None else start, start)
        speaker = group.words[0].speaker
        out.append(Cue(start, end, wrap(group.texts(), max_chars, max_lines), speaker))
        previous_end = end
    # Give short cues time to be read, up to where the next one starts.
    for i, cue in enumerate(out):
        limit = out[i + 1].start_ms if i + 1 < len(out) else cue.start_ms + min_ms
        cue.end_ms = max(cue.end_ms, min(cue.start_ms + min_ms, limit))
    return out


def _clock(ms: int, separator: str) -> str:
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _safe(line: str) -> str:
    return line.replace("-->", "->")


def _named(cue: Cue, speaker_names: Mapping[str, str] | None) -> str | None:
    """The name given to a cue's speaker (see `render`), if any."""
    return (speaker_names or {}).get(cue.speaker or "") or None


def render_srt(
    tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None, **options: int
) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, blank-line separated; a cue
    of a named speaker starts with `Name: `."""
    blocks = []
    for n, c in enumerate(cues(tokens, **options), start=1):
        lines = [_safe(line) for line in c.lines]
        if (name := _named(c, speaker_names)) and lines:
            lines[0] = f"{_safe(name)}: {lines[0]}"
        blocks.append(
            f"{n}\n{_clock(c.start_ms, ',')} --> {_clock(c.end_ms, ',')}\n" + "\n".join(lines)
        )
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _escape(text: str) -> str:
    return _safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(
    tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None, **options: int
) -> str:
    """WebVTT: a `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues; a cue of a
    named speaker starts with a voice span, `<v Name>`."""
    blocks = ["WEBVTT"]
    for c in cues(tokens, **options):
        lines = [_escape(line) for line in c.lines]
        if (name := _named(c, speaker_names)) and lines:
            lines[0] = f"<v {_escape(name)}>{lines[0]}"
        blocks.append(f"{_clock(c.start_ms, '.')} --> {_clock(c.end_ms, '.')}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def speaker_label(speaker: str, speaker_names: Mapping[str, str] | None = None) -> str:
    """What a speaker is called: the name given to it, else `Speaker N`."""
    return (speaker_names or {}).get(speaker) or f"Speaker {speaker}"


def render_text(tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None) -> str:
    """The transcript text; with speakers, one `Speaker N: …` (or `Name: …`) paragraph per
    turn."""
    pieces: list[tuple[str | None, list[str]]] = []  # joined once: a long turn stays linear
    for token in spoken(tokens):
        speaker = _speaker(token)
        if not pieces or pieces[-1][0] != speaker:
            pieces.append((speaker, []))
        pieces[-1][1].append(_get(token, "text") or "")
    turns = [(speaker, "".join(texts)) for speaker, texts in pieces]
    if not any(speaker for speaker, _ in turns):
        text = "".join(text for _, text in turns).strip()
        return text + "\n" if text else ""
    paragraphs = [
        f"{speaker_label(speaker, speaker_names)}: {text.strip()}" if speaker else text.strip()
        for speaker, text in turns
    ]
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def render(
    tokens: Iterable[Any], format: str, speaker_names: Mapping[str, str] | None = None
) -> str:
    """Render tokens in one of FORMATS ("text", "srt", "vtt"), speakers called by the names
    in `speaker_names` ({"1": "Dr. Ruiz"}) where given."""
    if format == "text":
        return render_text(tokens, speaker_names)
    if format == "srt":
        return render_srt(tokens, speaker_names)
    if format == "vtt":
        return render_vtt(tokens, speaker_names)
    raise ValueError(f"unknown subtitle format {format!r}; expected one of {', '.join(FORMATS)}")

"""Independent SRT/WebVTT parsers for the tests: parse rendered subtitles back and check them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIME = r"(\d{{2}}):([0-5]\d):([0-5]\d){sep}(\d{{3}})"


@dataclass
class ParsedCue:
    start_ms: int
    end_ms: int
    lines: list[str]


def _ms(h: str, m: str, s: str, ms: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def _timing(line: str, sep: str) -> tuple[int, int]:
    one = _TIME.format(sep=sep)
    match = re.fullmatch(f"{one} --> {one}", line)
    assert match, f"bad timing line {line!r}"
    g = match.groups()
    return _ms(*g[:4]), _ms(*g[4:])


def parse_srt(text: str) -> list[ParsedCue]:
    assert text.endswith("\n") and "\r" not in text
    cues = []
    for number, block in enumerate(text.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), block
        start, end = _timing(lines[1], ",")
        cues.append(ParsedCue(start, end, lines[2:]))
    return cues


def parse_vtt(text: str) -> list[ParsedCue]:
    assert text.startswith("WEBVTT\n\n") and text.endswith("\n")
    cues = []
    for block in text.strip("\n").split("\n\n")[1:]:
        lines = block.split("\n")
        start, end = _timing(lines[0], ".")
        cues.append(ParsedCue(start, end, lines[1:]))
    return cues


def check_cues(cues: list[ParsedCue], max_chars: int = 42, max_lines: int = 2) -> None:
    """Timings monotonic and non-overlapping; 1-2 non-empty lines of at most 42 characters."""
    assert cues
    previous_end = 0
    for cue in cues:
        assert previous_end <= cue.start_ms <= cue.end_ms, cue
        previous_end = cue.end_ms
        assert 1 <= len(cue.lines) <= max_lines, cue
        assert all(0 < len(line) <= max_chars for line in cue.lines), cue

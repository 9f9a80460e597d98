"""Transcript exports that are documents rather than subtitles: DOCX (python-docx)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from hark.subtitles import sentences, speaker_label

SENTENCES_PER_PARAGRAPH = 5  # without speakers, paragraphs of this many sentences


def _clock(ms: int | None) -> str:
    minutes, seconds = divmod((ms or 0) // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def paragraphs(
    tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None
) -> list[tuple[int | None, str | None, str]]:
    """(start ms, speaker label or None, text): one paragraph per speaker turn, or per few
    sentences when no speakers were told apart."""
    out: list[tuple[int | None, str | None, str]] = []
    count = 0
    for sentence in sentences(tokens):
        label = speaker_label(sentence.speaker, speaker_names) if sentence.speaker else None
        if out and out[-1][1] == label and (label or count < SENTENCES_PER_PARAGRAPH):
            start, _, text = out[-1]
            out[-1] = (start, label, f"{text} {sentence.text}")
            count += 1
        else:
            out.append((sentence.start_ms, label, sentence.text))
            count = 1
    return out


def render_docx(
    title: str, tokens: Iterable[Any], speaker_names: Mapping[str, str] | None = None
) -> bytes:
    """A Word document: the title, then each paragraph led by its time (and speaker)."""
    from docx import Document  # imported on use: only exports need it

    document = Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for start_ms, label, text in paragraphs(tokens, speaker_names):
        paragraph = document.add_paragraph()
        lead = paragraph.add_run(f"[{_clock(start_ms)}] " + (f"{label}: " if label else ""))
        lead.bold = True
        paragraph.add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

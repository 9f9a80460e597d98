"""Corrections to finished transcripts (speaker names, word edits) and search across them:
the use cases behind the console, open to any API client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hark.store import Store, Transcription, TranscriptRow, utcnow

from .errors import FieldError, InvalidRequest
from .transcriptions import TranscriptionService

MAX_HISTORY = 200  # edits remembered per transcript; the oldest are forgotten first
MAX_QUERY_TERMS = 10
HITS_PER_TRANSCRIPT = 3
SNIPPET_BEFORE, SNIPPET_AFTER = 8, 10  # tokens of context around a hit

SpeakerName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
WordText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class TranscriptEdit(BaseModel):
    """PATCH /v1/transcriptions/{id}/transcript: what to change. Unknown fields are refused
    (this is Hark's own endpoint: a misspelt field must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    # Speaker label -> name; an empty name or null forgets the name.
    speaker_names: dict[str, SpeakerName | None] | None = Field(default=None, max_length=64)
    # Token index (in `tokens`) -> the token's new text. The token keeps its timings and
    # its leading space; an empty text removes the word.
    tokens: dict[int, WordText] | None = Field(default=None, max_length=10_000)


@dataclass(frozen=True)
class SearchHit:
    transcription: Transcription
    token_index: int
    start_ms: int | None
    snippet: str
    highlight: tuple[int, int]  # [start, end) of the matched word within `snippet`


def _spoken(token: dict) -> bool:
    return token.get("translation_status") != "translation"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class Corrections:
    def __init__(self, store: Store, transcriptions: TranscriptionService) -> None:
        self.store = store
        self.transcriptions = transcriptions

    # -- edits ---------------------------------------------------------------------------

    def edit(self, project_id: str, transcription_id: str, edit: TranscriptEdit) -> TranscriptRow:
        if not edit.speaker_names and not edit.tokens:
            raise InvalidRequest(
                "Nothing to change: send speaker_names and/or tokens.",
                validation_errors=[FieldError("body", "speaker_names or tokens is required")],
            )
        self.transcriptions.transcript(project_id, transcription_id)  # 404 / 409 as a read

        def change(row: TranscriptRow) -> None:
            entry: dict[str, Any] = {"at": utcnow().isoformat()}
            if edit.speaker_names:
                entry["speaker_names"] = self._rename(row, edit.speaker_names)
            if edit.tokens:
                entry["tokens"] = self._rewrite(row, edit.tokens)
            row.edits = [*(row.edits or []), entry][-MAX_HISTORY:]
            row.edited_at = utcnow()

        row = self.store.edit_transcript(project_id, transcription_id, change)
        if row is None:  # deleted between the check and the edit
            return self.transcriptions.transcript(project_id, transcription_id)
        return row

    @staticmethod
    def _rename(row: TranscriptRow, names: dict[str, str | None]) -> dict[str, Any]:
        speakers = {str(t["speaker"]) for t in row.tokens if t.get("speaker") is not None}
        unknown = sorted(set(names) - speakers)
        if unknown:
            raise InvalidRequest(
                f"No speaker {unknown[0]!r} in this transcript"
                + (f" (speakers: {', '.join(sorted(speakers))})." if speakers else "."),
                validation_errors=[
                    FieldError(f"body.speaker_names.{name}", "no such speaker") for name in unknown
                ],
            )
        current = dict(row.speaker_names or {})
        changes = {}
        for label, name in names.items():
            changes[label] = {"from": current.get(label), "to": name or None}
            if name:
                current[label] = name
            else:
                current.pop(label, None)
        row.speaker_names = current or None
        return changes

    @staticmethod
    def _rewrite(row: TranscriptRow, texts: dict[int, str]) -> dict[str, Any]:
        bad = sorted(i for i in texts if not 0 <= i < len(row.tokens))
        if bad:
            raise InvalidRequest(
                f"No token {bad[0]} in this transcript (it has {len(row.tokens)}).",
                validation_errors=[
                    FieldError(f"body.tokens.{i}", "token index out of range") for i in bad
                ],
            )
        tokens = [dict(t) for t in row.tokens]
        changes = {}
        for index, new in texts.items():
            old = tokens[index]["text"]
            lead = old[: len(old) - len(old.lstrip())]
            text = lead + new if new else ""
            changes[str(index)] = {"from": old, "to": text}
            tokens[index]["text"] = text
        row.tokens = tokens
        # By contract the text is the tokens' texts joined (the search index follows it).
        row.text = "".join(t["text"] for t in tokens)
        return changes

    def history(self, project_id: str, transcription_id: str) -> list[dict]:
        return self.transcriptions.transcript(project_id, transcription_id).edits or []

    # -- search --------------------------------------------------------------------------

    def search(self, project_id: str, query: str, limit: int) -> list[SearchHit]:
        """Up to `limit` hits for `query`'s words (all of them in one transcript; the last
        also as the start of a longer word), each at a word that matched, best first."""
        terms = _words(query)[:MAX_QUERY_TERMS]
        if not terms:
            raise InvalidRequest(
                "The search query has no words.",
                validation_errors=[FieldError("query.q", "must contain a word")],
            )
        hits: list[SearchHit] = []
        for job, row in self.store.search_transcripts(project_id, terms, True, limit):
            hits += self._hits(job, row.tokens, terms)[:HITS_PER_TRANSCRIPT]
            if len(hits) >= limit:
                break
        return hits[:limit]

    @staticmethod
    def _hits(job: Transcription, tokens: list[dict], terms: list[str]) -> list[SearchHit]:
        spoken = [(i, t) for i, t in enumerate(tokens) if _spoken(t)]
        texts = [t.get("text") or "" for _, t in spoken]

        def matches(word: str) -> bool:
            return word in terms or word.startswith(terms[-1])

        hits = []
        for n, (index, token) in enumerate(spoken):
            if not any(matches(w) for w in _words(texts[n])):
                continue
            lo, hi = max(0, n - SNIPPET_BEFORE), n + SNIPPET_AFTER + 1
            before = ("…" if lo else "") + "".join(texts[lo:n]).lstrip()
            word = texts[n] if before else texts[n].lstrip()
            after = "".join(texts[n + 1 : hi]).rstrip()
            if hi < len(texts) and not after.endswith((".", "?", "!", "…")):
                after += "…"
            start = len(before) + len(word) - len(word.lstrip())
            hits.append(
                SearchHit(
                    job,
                    index,
                    token.get("start_ms"),
                    before + word + after,
                    (start, len(before) + len(word)),
                )
            )
        return hits

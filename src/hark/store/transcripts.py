"""Finished transcripts: corrections (speaker names, word edits) and search."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    func,
    literal_column,
    select,
)
from sqlalchemy import text as sql

from .base import (
    StoreBase,
)
from .models import (
    Transcription,
    TranscriptRow,
)


class TranscriptsStore(StoreBase):
    # -- transcripts: corrections and search -------------------------------------------------

    def edit_transcript(
        self, project_id: str, transcription_id: str, change: Callable[[TranscriptRow], None]
    ) -> TranscriptRow | None:
        """Apply `change` to a project's transcript under a row lock (so concurrent edits
        each see the other's), or None when there is no such transcript. `change` assigns
        new values: JSON columns are not watched for changes made in place."""
        with self.db.write() as s:
            row = s.scalar(
                select(TranscriptRow)
                .join(Transcription, Transcription.id == TranscriptRow.transcription_id)
                .where(
                    TranscriptRow.transcription_id == transcription_id,
                    Transcription.project_id == project_id,
                )
                .with_for_update()
            )
            if row is not None:
                change(row)
            return row

    def search_transcripts(
        self, project_id: str, terms: list[str], prefix: bool, limit: int
    ) -> list[tuple[Transcription, TranscriptRow]]:
        """A project's completed transcripts holding every one of `terms` (whole words,
        any case; the last one as a word's beginning when `prefix`), best match first:
        SQLite's FTS5 table, or PostgreSQL's full-text search."""
        if not terms:
            return []
        query = (
            select(Transcription, TranscriptRow)
            .join(TranscriptRow, TranscriptRow.transcription_id == Transcription.id)
            .where(Transcription.project_id == project_id, Transcription.status == "completed")
            .limit(limit)
        )
        if self.db.engine.dialect.name == "postgresql":
            words = [f"{t}:*" if prefix and i == len(terms) - 1 else t for i, t in enumerate(terms)]
            simple = literal_column("'simple'::regconfig")
            vector = func.to_tsvector(simple, TranscriptRow.text)
            matched = func.to_tsquery(simple, " & ".join(words))
            query = query.where(vector.op("@@")(matched)).order_by(
                func.ts_rank(vector, matched).desc(), Transcription.created_at.desc()
            )
        else:
            # Terms are word characters only (the caller's job), quoted as FTS5 strings.
            words = [f'"{t}"' for t in terms]
            if prefix:
                words[-1] += "*"
            hits = (
                select(
                    literal_column("transcription_id").label("id"),
                    literal_column("rank").label("rank"),
                )
                .select_from(sql("transcript_search"))
                .where(sql("transcript_search MATCH :match").bindparams(match=" ".join(words)))
                .subquery()
            )
            query = query.join(hits, hits.c.id == Transcription.id).order_by(
                hits.c.rank, Transcription.created_at.desc()
            )
        with self.db.read() as s:
            return [(job, transcript) for job, transcript in s.execute(query)]

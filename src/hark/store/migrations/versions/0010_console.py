"""the console: transcript corrections (speaker names, word edits and their history) and
full-text search over transcripts (SQLite FTS5 kept by triggers; PostgreSQL GIN index)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# SQLite: an FTS5 table holding a copy of each transcript's text, kept in step with the
# transcripts table by triggers, so every writer (workers, edits, retention) updates it.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE transcript_search USING fts5(transcription_id UNINDEXED, text)",
    "INSERT INTO transcript_search (transcription_id, text) "
    "SELECT transcription_id, text FROM transcripts",
    "CREATE TRIGGER transcripts_search_insert AFTER INSERT ON transcripts BEGIN "
    "INSERT INTO transcript_search (transcription_id, text) "
    "VALUES (new.transcription_id, new.text); END",
    "CREATE TRIGGER transcripts_search_delete AFTER DELETE ON transcripts BEGIN "
    "DELETE FROM transcript_search WHERE transcription_id = old.transcription_id; END",
    "CREATE TRIGGER transcripts_search_update AFTER UPDATE OF text ON transcripts BEGIN "
    "DELETE FROM transcript_search WHERE transcription_id = old.transcription_id; "
    "INSERT INTO transcript_search (transcription_id, text) "
    "VALUES (new.transcription_id, new.text); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS transcripts_search_update",
    "DROP TRIGGER IF EXISTS transcripts_search_delete",
    "DROP TRIGGER IF EXISTS transcripts_search_insert",
    "DROP TABLE IF EXISTS transcript_search",
]
# PostgreSQL: the same expression the store queries with ('simple': no stemming, so a hit
# is a word as written, like FTS5's unicode61 tokenizer).
POSTGRES_UP = [
    "CREATE INDEX ix_transcripts_search ON transcripts "
    "USING gin (to_tsvector('simple'::regconfig, text))"
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_transcripts_search"]


def upgrade() -> None:
    with op.batch_alter_table("transcripts") as batch:
        batch.add_column(sa.Column("speaker_names", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("edits", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("edited_at", sa.DateTime(), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, []):
        op.execute(statement)
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_column("edited_at")
        batch.drop_column("edits")
        batch.drop_column("speaker_names")

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from hark.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=256), nullable=False),
        sa.Column("client_reference_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_files_project_created", ["project_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "transcriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("audio_url", sa.String(length=4096), nullable=True),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("language_hints", sa.JSON(), nullable=True),
        sa.Column("language_hints_strict", sa.Boolean(), nullable=True),
        sa.Column("enable_speaker_diarization", sa.Boolean(), nullable=False),
        sa.Column("enable_language_identification", sa.Boolean(), nullable=False),
        sa.Column("translation", sa.JSON(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("webhook_url", sa.String(length=256), nullable=True),
        sa.Column("webhook_auth_header_name", sa.String(length=256), nullable=True),
        sa.Column("webhook_auth_header_value", sa.String(length=256), nullable=True),
        sa.Column("webhook_status_code", sa.Integer(), nullable=True),
        sa.Column("client_reference_id", sa.String(length=256), nullable=True),
        sa.Column("audio_duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transcriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transcriptions_project_created", ["project_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_transcriptions_status", ["status"], unique=False)

    op.create_table(
        "transcripts",
        sa.Column("transcription_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["transcription_id"], ["transcriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("transcription_id"),
    )


def downgrade() -> None:
    op.drop_table("transcripts")
    with op.batch_alter_table("transcriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_transcriptions_status")
        batch_op.drop_index("ix_transcriptions_project_created")

    op.drop_table("transcriptions")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_project_created")

    op.drop_table("files")
    op.drop_table("api_keys")
    op.drop_table("projects")

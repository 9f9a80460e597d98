"""pre-signed uploads, Invox credentials and access tokens, webhook kinds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from hark.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("invox_secret", sa.String(length=128), nullable=True))
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="hark")
        )
    op.create_table(
        "presigned_uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=256), nullable=True),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=256), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("client_reference_id", sa.String(length=256), nullable=True),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("callback_url", sa.String(length=4096), nullable=True),
        sa.Column("app_id", sa.String(length=64), nullable=True),
        sa.Column("transcription_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        "ix_presigned_uploads_project_state", "presigned_uploads", ["project_id", "state"]
    )
    op.create_index("ix_presigned_uploads_expires_at", "presigned_uploads", ["expires_at"])
    op.create_index("ix_presigned_uploads_created_at", "presigned_uploads", ["created_at"])
    op.create_index(
        "ix_presigned_uploads_transcription_id", "presigned_uploads", ["transcription_id"]
    )
    op.create_table(
        "invox_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id"),
    )
    op.create_table(
        "invox_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["invox_credentials.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_invox_tokens_credential_id", "invox_tokens", ["credential_id"])
    op.create_index("ix_invox_tokens_expires_at", "invox_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("invox_tokens")
    op.drop_table("invox_credentials")
    op.drop_table("presigned_uploads")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("invox_secret")

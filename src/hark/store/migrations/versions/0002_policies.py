"""temporary keys, webhook deliveries, idempotency records, retention indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from hark.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("limits", sa.JSON(), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("usage_type", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("single_use", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("used_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("client_reference_id", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("max_session_seconds", sa.Integer(), nullable=True))
        batch.create_index("ix_api_keys_expires_at", ["expires_at"])
    op.create_index("ix_files_created", "files", ["created_at"])
    op.create_index("ix_transcriptions_created", "transcriptions", ["created_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("transcription_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=4096), nullable=False),
        sa.Column("header_name", sa.String(length=256), nullable=True),
        sa.Column("header_value", sa.String(length=256), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_transcription_id", "webhook_deliveries", ["transcription_id"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_transcriptions_created", "transcriptions")
    op.drop_index("ix_files_created", "files")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("limits")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_expires_at")
        for column in (
            "max_session_seconds",
            "client_reference_id",
            "used_at",
            "single_use",
            "expires_at",
            "usage_type",
        ):
            batch.drop_column(column)

"""fair job order: when each project last had a job claimed; indexes for queue positions
and recent throughput

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from hark.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("last_claimed_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_transcriptions_queue", "transcriptions", ["status", "project_id", "created_at"]
    )
    op.create_index("ix_transcriptions_finished", "transcriptions", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_transcriptions_finished", table_name="transcriptions")
    op.drop_index("ix_transcriptions_queue", table_name="transcriptions")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("last_claimed_at")

"""speaker count bounds for diarization (min_speakers, max_speakers)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("min_speakers", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_speakers", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_column("max_speakers")
        batch.drop_column("min_speakers")

"""audio_url jobs: where the downloaded audio is stored until the job is done (issue 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("audio_key", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_column("audio_key")

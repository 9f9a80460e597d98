"""the OpenAI door: the decoder's segments beside the transcript, partial text while
processing, per-job decoder options (temperature, VAD)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcripts") as batch:
        batch.add_column(sa.Column("decoding", sa.JSON(), nullable=True))
    with op.batch_alter_table("transcriptions") as batch:
        batch.add_column(sa.Column("partial_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("decoder_options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transcriptions") as batch:
        batch.drop_column("decoder_options")
        batch.drop_column("partial_text")
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_column("decoding")

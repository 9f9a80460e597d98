"""per-project webhook signing secrets and private-URL exceptions; who receives a
pre-signed upload, since when (issue 19)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from hark.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("webhook_secret", sa.String(128), nullable=True))
        batch.add_column(sa.Column("allowed_private_networks", sa.JSON(), nullable=True))
    with op.batch_alter_table("presigned_uploads") as batch:
        batch.add_column(sa.Column("receiver", sa.String(128), nullable=True))
        batch.add_column(sa.Column("receiving_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("presigned_uploads") as batch:
        batch.drop_column("receiving_since")
        batch.drop_column("receiver")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("allowed_private_networks")
        batch.drop_column("webhook_secret")

"""A channel can be marked monetised: voices and pictures that may not be used commercially are refused for it.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `channels.monetised`."""
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("monetised", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Drop `channels.monetised`."""
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("monetised")

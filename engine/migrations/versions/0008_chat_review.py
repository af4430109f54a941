"""Whether a chat reviews its videos' pictures before the render, set with /settings review.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `bot_chat_settings.review`."""
    with op.batch_alter_table("bot_chat_settings") as batch:
        batch.add_column(sa.Column("review", sa.Boolean, nullable=True))


def downgrade() -> None:
    """Drop `bot_chat_settings.review`."""
    with op.batch_alter_table("bot_chat_settings") as batch:
        batch.drop_column("review")

"""A chat's default voice, chosen with /settings voice.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `bot_chat_settings.voice`."""
    with op.batch_alter_table("bot_chat_settings") as batch:
        batch.add_column(sa.Column("voice", sa.String, nullable=True))


def downgrade() -> None:
    """Drop `bot_chat_settings.voice`."""
    with op.batch_alter_table("bot_chat_settings") as batch:
        batch.drop_column("voice")

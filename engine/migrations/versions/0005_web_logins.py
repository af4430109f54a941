"""One-time login links for the web dashboard.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `web_logins`."""
    op.create_table(
        "web_logins",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("expires", sa.DateTime, nullable=False),
        sa.Column("used", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    """Drop `web_logins`."""
    op.drop_table("web_logins")

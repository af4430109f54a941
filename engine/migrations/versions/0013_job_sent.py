"""A queued job remembers whether its message reached the queue, so a send that failed is sent again.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `jobs.sent_at`."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    """Drop `jobs.sent_at`."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("sent_at")

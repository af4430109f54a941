"""Each reach report remembers its channel's reporting job, so each channel lists its reports from its own newest.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `reach_reports.job`."""
    with op.batch_alter_table("reach_reports") as batch:
        batch.add_column(sa.Column("job", sa.String, nullable=True))


def downgrade() -> None:
    """Drop `reach_reports.job`."""
    with op.batch_alter_table("reach_reports") as batch:
        batch.drop_column("job")

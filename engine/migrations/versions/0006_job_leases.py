"""Leases on running jobs, for workers on other machines: a job whose lease expired is taken over.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `jobs.lease_until`."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))


def downgrade() -> None:
    """Drop `jobs.lease_until`."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_until")

"""An A/B test keeps each look as it was made, so a reach report that changes a day later cannot undo it.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `ab_looks`."""
    op.create_table(
        "ab_looks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("test_id", sa.Integer, sa.ForeignKey("ab_tests.id"), nullable=False, index=True),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("statistic", sa.Float, nullable=False),
        sa.Column("p_value", sa.Float, nullable=False),
        sa.Column("boundary", sa.Float, nullable=False),
        sa.Column("spent", sa.Float, nullable=False),
        sa.Column("alive", sa.String, nullable=False),
        sa.Column("decided", sa.Boolean, nullable=False),
        sa.Column("leader", sa.Integer, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("figures_json", sa.String, nullable=False, server_default="{}"),
        sa.Column("made", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop `ab_looks`."""
    op.drop_table("ab_looks")

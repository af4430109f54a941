"""A/B tests by whole days: a planned schedule, reach reports read once, and tests of titles too.

`ab_tests` loses the slot length, the time limit in days and Thompson sampling, and gains what the
new design needs (kind, titles, the approved variant, publishing time, first judged day, cycles,
seed, reports sent). `ab_slots` (time slots with view counts) and `ab_days` (Analytics figures per
test) give way to `ab_schedule` (one planned day each), `reach_days` (per video and day, from the
latest reach report) and `reach_reports` (the reports already read). A test still running under
the old design is stopped: its thumbnail stays, and its numbers were never sound enough to go on.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_COLUMNS = (
    ("kind", sa.String, "thumbnail"), ("titles_json", sa.String, "[]"), ("approved", sa.Integer, "1"),
    ("published", sa.DateTime, None), ("first_day", sa.Date, None), ("max_cycles", sa.Integer, "6"),
    ("seed", sa.Integer, "0"), ("early_report_sent", sa.Boolean, sa.false()), ("reported_cycles", sa.Integer, "0"),
)


def upgrade() -> None:
    """Reshape `ab_tests`, stop old running tests, replace the slot and figure tables."""
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE ab_tests SET state = 'stopped', decided_by = 'upgrade' WHERE state = 'running'"))
    with op.batch_alter_table("ab_tests") as batch:
        for name in ("slot_hours", "max_days", "adaptive", "report_sent"):
            batch.drop_column(name)
        for name, kind, default in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=default is None, server_default=default))
    # Old tests had neither: their start stands in for both.
    bind.execute(sa.text("UPDATE ab_tests SET published = started, first_day = date(started)"))
    with op.batch_alter_table("ab_tests") as batch:
        batch.alter_column("published", existing_type=sa.DateTime, nullable=False)
        batch.alter_column("first_day", existing_type=sa.Date, nullable=False)
    op.drop_table("ab_slots")
    op.drop_table("ab_days")
    op.create_table(
        "ab_schedule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("test_id", sa.Integer, sa.ForeignKey("ab_tests.id"), nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("variant", sa.Integer, nullable=False),
        sa.Column("switched", sa.DateTime),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "reach_days",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("video_id", sa.String, nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("impressions", sa.Integer, nullable=False),
        sa.Column("clicks", sa.Float, nullable=False),
        sa.Column("report_created", sa.DateTime, nullable=False),
        sa.UniqueConstraint("video_id", "day"),
    )
    op.create_table(
        "reach_reports",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("created", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    """Not supported: the old design's slots cannot be rebuilt from days."""
    raise NotImplementedError("A/B tests by days cannot go back to time slots")

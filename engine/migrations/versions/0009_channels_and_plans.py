"""Channels with their own authorisation and calendar, their planned videos, and each A/B test's channel.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `channels`, `planned_videos` and `ab_tests.channel`."""
    op.create_table(
        "channels",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("youtube_id", sa.String, nullable=True),
        sa.Column("title", sa.String, nullable=True),
        sa.Column("client_secrets", sa.String, nullable=True),
        sa.Column("testing_app", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("authorised", sa.DateTime, nullable=True),
        sa.Column("auth_state", sa.String, nullable=False, server_default="ok"),
        sa.Column("auth_note", sa.String, nullable=True),
        sa.Column("auth_checked", sa.DateTime, nullable=True),
        sa.Column("chat_id", sa.Integer, nullable=True),
        sa.Column("preset", sa.String, nullable=True),
        sa.Column("days", sa.String, nullable=False, server_default=""),
        sa.Column("at", sa.String, nullable=True),
        sa.Column("timezone", sa.String, nullable=False, server_default="UTC"),
        sa.Column("auto", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("approval_hours", sa.Float, nullable=False, server_default="12.0"),
        sa.Column("quota_until", sa.DateTime, nullable=True),
    )
    op.create_table(
        "planned_videos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String, nullable=False, index=True),
        sa.Column("topic", sa.String, nullable=False),
        sa.Column("preset", sa.String, nullable=True),
        sa.Column("length", sa.String, nullable=True),
        sa.Column("publish_at", sa.DateTime, nullable=True),
        sa.Column("slot", sa.DateTime, nullable=True),
        sa.Column("state", sa.String, nullable=False, index=True, server_default="backlog"),
        sa.Column("job_id", sa.Integer, nullable=True),
        sa.Column("video_id", sa.String, nullable=True),
        sa.Column("note", sa.String, nullable=True),
        sa.Column("added", sa.DateTime, nullable=False),
        sa.Column("changed", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("ab_tests") as batch:
        batch.add_column(sa.Column("channel", sa.String, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("ab_tests") as batch:
        batch.drop_column("channel")
    op.drop_table("planned_videos")
    op.drop_table("channels")

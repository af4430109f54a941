"""The schema of release 0.1 (before the one job model): created where missing, completed where older.

Databases made before migrations existed have no version table; they start here. Each table is
created if it is missing, and an existing one gains the columns earlier releases added by hand,
so any database of 0.1 or before arrives at the same schema.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


Table = tuple[list[sa.Column], list[str]]  # columns, and the columns with an index


def _job_tables() -> dict[str, Table]:
    """Release 0.1's job tables (a frozen copy, not today's models)."""
    false = sa.false()
    return {
        "jobs": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("slug", sa.String, nullable=False),
            sa.Column("topic", sa.String, nullable=False),
            sa.Column("preset", sa.String, nullable=False),
            sa.Column("status", sa.String, nullable=False, server_default="running"),
            sa.Column("created", sa.DateTime, nullable=False),
            sa.Column("finished", sa.DateTime),
            sa.Column("folder", sa.String, nullable=False, server_default=""),
            sa.Column("error", sa.String),
            sa.Column("video_seconds", sa.Float),
        ], ["slug"]),
        "stage_runs": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False),
            sa.Column("stage", sa.String, nullable=False),
            sa.Column("backend", sa.String, nullable=False, server_default=""),
            sa.Column("started", sa.DateTime, nullable=False),
            sa.Column("finished", sa.DateTime),
            sa.Column("outcome", sa.String, nullable=False, server_default="running"),
            sa.Column("error", sa.String),
            sa.Column("cache_hit", sa.Boolean, nullable=False, server_default=false),
            sa.Column("items_total", sa.Integer, nullable=False, server_default="0"),
            sa.Column("items_cached", sa.Integer, nullable=False, server_default="0"),
            sa.Column("items_computed", sa.Integer, nullable=False, server_default="0"),
        ], ["job_id", "stage"]),
        "paused_jobs": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False),
            sa.Column("request_json", sa.String, nullable=False),
            sa.Column("reason", sa.String, nullable=False),
            sa.Column("resume_after", sa.DateTime),
            sa.Column("resumed", sa.Boolean, nullable=False, server_default=false),
        ], ["job_id"]),
    }


def _service_tables() -> dict[str, Table]:
    """Release 0.1's token ledger and A/B test tables."""
    false = sa.false()
    return {
        "hf_tokens": ([
            sa.Column("key", sa.String, primary_key=True),
            sa.Column("fingerprint", sa.String, nullable=False),
            sa.Column("month", sa.String, nullable=False, server_default=""),
            sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
            sa.Column("spend_usd", sa.Float, nullable=False, server_default="0"),
            sa.Column("state", sa.String, nullable=False, server_default="ok"),
            sa.Column("cooldown_until", sa.DateTime),
            sa.Column("last_402", sa.DateTime),
            sa.Column("last_429", sa.DateTime),
            sa.Column("last_401", sa.DateTime),
            *[sa.Column(name, sa.Integer, nullable=False, server_default="0")
              for name in ("count_402", "count_429", "count_401", "images_ok", "images_failed")],
        ], []),
        "ab_tests": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("video_id", sa.String, nullable=False),
            sa.Column("folder", sa.String, nullable=False),
            sa.Column("chat_id", sa.Integer),
            sa.Column("variants", sa.Integer, nullable=False, server_default="3"),
            sa.Column("started", sa.DateTime, nullable=False),
            sa.Column("slot_hours", sa.Float, nullable=False, server_default="24"),
            sa.Column("max_days", sa.Float, nullable=False, server_default="7"),
            sa.Column("adaptive", sa.Boolean, nullable=False, server_default=false),
            sa.Column("state", sa.String, nullable=False, server_default="running"),
            sa.Column("report_sent", sa.Boolean, nullable=False, server_default=false),
            sa.Column("winner", sa.Integer),
            sa.Column("decided_by", sa.String),
            sa.Column("finished", sa.DateTime),
        ], ["video_id"]),
        "ab_slots": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("test_id", sa.Integer, sa.ForeignKey("ab_tests.id"), nullable=False),
            sa.Column("variant", sa.Integer, nullable=False),
            sa.Column("start", sa.DateTime, nullable=False),
            sa.Column("end", sa.DateTime),
            sa.Column("views_start", sa.Integer, nullable=False, server_default="0"),
            sa.Column("views_end", sa.Integer),
        ], ["test_id"]),
        "ab_days": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("test_id", sa.Integer, sa.ForeignKey("ab_tests.id"), nullable=False),
            sa.Column("day", sa.Date, nullable=False),
            sa.Column("impressions", sa.Integer, nullable=False),
            sa.Column("click_rate", sa.Float, nullable=False),
        ], ["test_id"]),
    }


def _bot_tables() -> dict[str, Table]:
    """Release 0.1's bot tables."""
    return {
        "bot_jobs": ([
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("chat_id", sa.Integer, nullable=False),
            sa.Column("request_json", sa.String, nullable=False),
            sa.Column("status_message_id", sa.Integer),
            sa.Column("state", sa.String, nullable=False, server_default="queued"),
            sa.Column("created", sa.DateTime, nullable=False),
            sa.Column("error", sa.String),
            sa.Column("folder", sa.String),
            sa.Column("thumbnail", sa.Integer),
            sa.Column("delivered", sa.String, nullable=False, server_default=""),
        ], ["chat_id"]),
        "bot_chat_settings": ([
            sa.Column("chat_id", sa.Integer, primary_key=True),
            sa.Column("preset", sa.String),
            sa.Column("language", sa.String),
            sa.Column("caption_style", sa.String),
            sa.Column("stats_time", sa.String),
            sa.Column("stats_sent_on", sa.Date),
        ], []),
    }


def upgrade() -> None:
    """Create what is missing of release 0.1's schema."""
    existing = sa.inspect(op.get_bind())
    for name, (columns, indexed) in (_job_tables() | _service_tables() | _bot_tables()).items():
        if not existing.has_table(name):
            op.create_table(name, *columns)
            for column in indexed:
                op.create_index(f"ix_{name}_{column}", name, [column])
            continue
        have = {column["name"] for column in existing.get_columns(name)}
        indexes = {index["name"] for index in existing.get_indexes(name)}
        for column in columns:
            if column.name not in have:
                # An added column cannot be NOT NULL without a default; the baseline gives each one.
                op.add_column(name, sa.Column(column.name, column.type, nullable=column.nullable or
                                              column.server_default is None, server_default=column.server_default))
        for column in indexed:
            if f"ix_{name}_{column}" not in indexes:
                op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade() -> None:
    """Release 0.1 is the oldest schema there is."""
    raise NotImplementedError("release 0.1 is the first schema")

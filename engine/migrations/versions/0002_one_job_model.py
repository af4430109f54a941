"""One job model: the bot's jobs and the paused jobs become rows of `jobs`, with a state machine.

`jobs` gains who asked, the resolved request, the preset's snapshot, progress, cancellation,
resumption and deliveries; `status` becomes `state`. Every row of `bot_jobs` and `paused_jobs`
moves into it (a finished bot job joins the engine row of the same folder), then both tables go.

Revision ID: 0002
Revises: 0001
"""

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_COLUMNS = (
    ("origin", sa.String, "cli"), ("chat_id", sa.Integer, None), ("message_id", sa.Integer, None),
    ("request_json", sa.String, "{}"), ("preset_json", sa.String, "{}"), ("started", sa.DateTime, None),
    ("attempts", sa.Integer, "0"), ("worker", sa.String, None), ("cancel_requested", sa.Boolean, sa.false()),
    ("resume_after", sa.DateTime, None), ("stage", sa.String, None), ("stage_done", sa.Float, "0"),
    ("stage_total", sa.Float, "0"), ("stage_unit", sa.String, ""), ("eta_seconds", sa.Float, None),
    ("delivered", sa.JSON, "[]"), ("thumbnail", sa.Integer, None),
)


def upgrade() -> None:
    """Widen `jobs`, move the other two tables' rows into it, drop them."""
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("status", new_column_name="state", existing_type=sa.String,
                           existing_nullable=False, server_default=None)
        for name, kind, default in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=default is None, server_default=default))
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_index("ix_jobs_chat_id", "jobs", ["chat_id"])
    bind = op.get_bind()
    # A CLI run that was still "running" when this release arrived was killed or crashed long ago.
    bind.execute(sa.text("UPDATE jobs SET state = 'failed', error = 'interrupted' WHERE state = 'running'"))
    bind.execute(sa.text("UPDATE jobs SET started = created, attempts = 1"))
    _move_paused_jobs(bind)
    _move_bot_jobs(bind)
    op.drop_table("paused_jobs")
    op.drop_table("bot_jobs")


def _move_paused_jobs(bind) -> None:
    """A paused job not resumed yet: its engine row becomes the paused job itself."""
    for row in bind.execute(sa.text("SELECT job_id, request_json, reason, resume_after FROM paused_jobs "
                                    "WHERE NOT resumed")).mappings():
        bind.execute(sa.text("UPDATE jobs SET state = 'paused', request_json = :request, error = :reason, "
                             "resume_after = :after WHERE id = :id"),
                     {"request": row["request_json"], "reason": row["reason"], "after": row["resume_after"],
                      "id": row["job_id"]})


def _delivered(lines: str) -> str:
    """Release 0.1 kept absolute paths ("thumbnails:<path of 1.jpg>"); now names within the job's folder."""
    names = []
    for line in filter(None, lines.splitlines()):
        if line.startswith("thumbnails:"):
            names.append("thumbnails")
        else:
            path = PurePath(line)
            names.append(f"exports/{path.name}" if path.parent.name == "exports" else path.name)
    return json.dumps(names)


def _move_bot_jobs(bind) -> None:
    """Each bot job becomes a job of origin telegram; a finished one joins its engine row."""
    for row in bind.execute(sa.text("SELECT * FROM bot_jobs ORDER BY id")).mappings():
        request = json.loads(row["request_json"])
        state = {"running": "queued"}.get(row["state"], row["state"])  # the bot takes it up again on start
        values = {"origin": "telegram", "chat": row["chat_id"], "message": row["status_message_id"],
                  "request": row["request_json"], "delivered": _delivered(row["delivered"] or ""),
                  "thumbnail": row["thumbnail"], "state": state, "error": row["error"]}
        same = None
        if row["folder"]:
            same = bind.execute(sa.text("SELECT id FROM jobs WHERE folder = :folder AND origin = 'cli' "
                                        "ORDER BY id DESC LIMIT 1"), {"folder": row["folder"]}).scalar()
        if same is not None:
            bind.execute(sa.text("UPDATE jobs SET origin = :origin, chat_id = :chat, message_id = :message, "
                                 "request_json = :request, delivered = :delivered, thumbnail = :thumbnail, "
                                 "state = :state, error = :error WHERE id = :id"), values | {"id": same})
            continue
        topic = request.get("topic") or "video"
        bind.execute(sa.text(
            "INSERT INTO jobs (state, origin, chat_id, message_id, topic, preset, slug, folder, request_json, "
            "preset_json, created, attempts, cancel_requested, stage_done, stage_total, stage_unit, delivered, "
            "thumbnail, error) VALUES (:state, :origin, :chat, :message, :topic, :preset, :slug, :folder, "
            ":request, '{}', :created, 0, :false, 0, 0, '', :delivered, :thumbnail, :error)"),
            values | {"topic": topic, "preset": request.get("preset") or "", "slug": "",
                      "folder": row["folder"] or "", "created": row["created"] or datetime.utcnow(),
                      "false": False})


def downgrade() -> None:
    """Not supported: the jobs of both tables are one now."""
    raise NotImplementedError("the one job model cannot be split again")

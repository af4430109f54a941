"""Hugging Face accounts: tokens know their account, accounts keep their measured credit.

`hf_tokens` gains the account a token belongs to, when whoami last answered, and why a token is
invalid; `hf_accounts` keeps each account's plan and its inference credit as last measured.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the token columns and the accounts table."""
    with op.batch_alter_table("hf_tokens") as batch:
        batch.add_column(sa.Column("account", sa.String, nullable=False, server_default=""))
        batch.add_column(sa.Column("identified_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("problem", sa.String, nullable=False, server_default=""))
    op.create_table(
        "hf_accounts",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("is_pro", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("can_pay", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("measured_at", sa.DateTime, nullable=True),
        sa.Column("included_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("used_usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("limit_usd", sa.Float, nullable=True),
        sa.Column("spent_at_measure", sa.Float, nullable=False, server_default="0"),
        sa.Column("period_start", sa.DateTime, nullable=True),
        sa.Column("period_end", sa.DateTime, nullable=True),
        sa.Column("usage_error", sa.String, nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop the accounts table and the token columns."""
    op.drop_table("hf_accounts")
    with op.batch_alter_table("hf_tokens") as batch:
        for name in ("problem", "identified_at", "account"):
            batch.drop_column(name)

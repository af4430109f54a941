"""Alembic's environment: migrate the connection that `engine.store` hands over (see `upgrade`)."""

from alembic import context
from sqlmodel import SQLModel

import engine.tables  # noqa: F401 - the tables, so autogenerate compares against all of them

connection = context.config.attributes["connection"]
# Batch mode: SQLite alters a table by copying it, which Alembic does for us.
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True,
                  compare_type=False)
with context.begin_transaction():
    context.run_migrations()

"""Alembic migrations of the factory's database; `engine.store.Store` applies them when it opens one."""

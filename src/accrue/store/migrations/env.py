"""Alembic environment: migrates the records database the caller's connection points at."""

from alembic import context

from accrue.store.lines import LINES_METADATA
from accrue.store.tables import Base

target_metadata = [Base.metadata, LINES_METADATA]


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

"""The migrations build exactly the schema the models describe, on both backends, and
opening books older or newer than the code is refused with a clear message."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import BACKENDS
from sqlalchemy import text

from accrue.store.books import Books, NotInitialised
from accrue.store.lines import LINES_METADATA
from accrue.store.tables import Base


@BACKENDS
def test_migrations_match_the_models(books):
    wanted = [Base.metadata] + ([LINES_METADATA] if books.postgres else [])
    with books.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, wanted) == []


def test_books_not_initialised_are_refused(books_settings):
    with pytest.raises(NotInitialised, match="run `accrue init` first"):
        Books.open(books_settings)


def test_init_twice_keeps_the_books(books):
    again = Books.init(books.settings)
    with again.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_log")) == 0
    again.close()

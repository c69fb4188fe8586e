"""A process killed with SIGKILL in the middle of an ingest or a close leaves the books
consistent; running the command again completes, with nothing lost and nothing doubled."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

import pytest
from bookkeeping import add_program, books_state, journals, lines_file, sale, with_master
from conftest import BACKENDS
from sqlalchemy import select as query
from test_worked_examples import E8

from accrue.store.audit import verify_books
from accrue.store.books import Books
from accrue.store.tables import Batch, ClosedPeriod, SettlementRow

AS_OF = "2026-12-31"
FIRST = [sale("A-1", "2026-02-10", "60000"), sale("A-2", "2026-02-11", "30000")]
SECOND = [sale("B-1", "2026-03-10", "40000"), sale("A-2", "2026-02-11", "35000", revision="2")]


def _accrue(settings, *args: str, failpoint: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "ACCRUE_DATA_DIR": str(settings.data_dir), "ACCRUE_ACTOR": "tester"}
    if settings.database_url:
        env["ACCRUE_DATABASE_URL"] = settings.database_url
    if failpoint:
        env["ACCRUE_FAILPOINT"] = failpoint
    command = [sys.executable, "-m", "accrue", *args]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _kill_at(settings, failpoint: str, *args: str) -> None:
    """Run an accrue command and SIGKILL it once it reaches `failpoint`."""
    process = _accrue(settings, *args, failpoint=failpoint)
    seen = ""
    while f"failpoint {failpoint} reached" not in seen:
        if process.poll() is not None:  # no deadline: a loaded machine is only slower
            pytest.fail(f"accrue {' '.join(args)} ended before {failpoint}:\n{seen}")
        if select.select([process.stderr], [], [], 1)[0]:
            seen += process.stderr.readline()
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()


def _run(settings, *args: str) -> None:
    process = _accrue(settings, *args)
    _, error = process.communicate()
    assert process.returncode == 0, error


def _prepared(settings, tmp_path) -> tuple[str, str]:
    books = Books.init(settings)
    with_master(books, tmp_path)
    add_program(books, E8)
    books.close()
    first = lines_file(tmp_path / "first.csv", FIRST)
    second = lines_file(tmp_path / "second.csv", SECOND)
    _run(settings, "import", "lines", str(first), "--as-of", AS_OF)
    return str(first), str(second)


def _fresh(settings, folder):
    """Empty books again: a new data folder, and on PostgreSQL an emptied database."""
    if settings.database_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(settings.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    return settings.model_copy(update={"data_dir": folder})


def _finished(settings, tmp_path, crash: bool) -> tuple:
    """Import the second batch and close Q1, killed half-way through each when `crash`."""
    settings = _fresh(settings, tmp_path / ("crashed" if crash else "calm"))
    _, second = _prepared(settings, tmp_path)
    if crash:
        _kill_at(settings, "ingest:lines-written", "import", "lines", second, "--as-of", AS_OF)
        _check_nothing_half_done(settings, lines=2)
    _run(settings, "import", "lines", second, "--as-of", AS_OF)
    if crash:
        _kill_at(settings, "close:settlements-written", "close", "2026-Q1", "--as-of", AS_OF)
        _check_nothing_half_done(settings, lines=3)
    _run(settings, "close", "2026-Q1", "--as-of", AS_OF)
    books = Books.open(settings)
    try:
        assert verify_books(books).ok
        with books.session() as session:
            statuses = session.scalars(query(Batch.status).order_by(Batch.id)).all()
            settled = session.scalars(query(SettlementRow.amount)).all()
        rows = [{k: v for k, v in r.items() if k != "posted_on"} for r in journals(books)]
        return books_state(books), rows, settled, statuses
    finally:
        books.close()


def _check_nothing_half_done(settings, lines: int) -> None:
    books = Books.open(settings)  # opening recovers what the killed process left
    try:
        assert verify_books(books).ok
        with books.session() as session:
            assert "loading" not in session.scalars(query(Batch.status)).all()
            assert session.scalar(query(ClosedPeriod.label)) is None
            assert session.scalars(query(SettlementRow)).all() == []
        assert books.line_store.lines().count().execute() == lines
    finally:
        books.close()


@BACKENDS
def test_killed_ingest_and_close_leave_the_books_whole(books_settings, tmp_path):
    calm_state, calm_journals, calm_settled, calm_statuses = _finished(
        books_settings, tmp_path, False
    )
    state, rows, settled, statuses = _finished(books_settings, tmp_path, True)
    assert (state, rows, settled) == (calm_state, calm_journals, calm_settled)
    assert calm_statuses == ["committed"] * 4
    assert statuses == ["committed"] * 3 + ["interrupted", "committed"]

"""Master data in the books: upserts by natural key, every change kept with before and after,
a partner tree that stays a tree, Excel like CSV, and a move in the tree recalculated."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from bookkeeping import add_program, books_state, lines_file, receive, sale, with_master, write_csv
from conftest import BACKENDS
from openpyxl import Workbook
from sqlalchemy import event, func, select
from test_worked_examples import E8

from accrue.ingest.errors import InputError
from accrue.settings import Settings
from accrue.store.books import Books
from accrue.store.master import import_master
from accrue.store.tables import FxRateRow, MasterChange, PartnerRow, PendingRecalc, RepRow

HEADER = ("id", "name", "parent_id", "segment", "region")


def _partners(tmp_path, *rows, name="partners.csv"):
    return write_csv(tmp_path / name, HEADER, rows)


def _changes(books, key: str) -> list[tuple[dict | None, dict]]:
    with books.session() as session:
        rows = session.scalars(
            select(MasterChange).where(MasterChange.key == key).order_by(MasterChange.id)
        ).all()
    return [(json.loads(r.before) if r.before else None, json.loads(r.after)) for r in rows]


def _tree(count: int, renamed: tuple[int, ...] = ()) -> list[tuple]:
    """`count` partners, every tenth a root with the next nine under it; those at the
    `renamed` positions with another name and segment."""
    rows = []
    for i in range(count):
        name, segment = (f"Partner {i} renamed", "Gold") if i in renamed else (f"Partner {i}", "")
        rows.append((f"P{i:04d}", name, "" if i % 10 == 0 else f"P{i - i % 10:04d}", segment, ""))
    return rows


@contextmanager
def _statements(books):
    """The SQL statements the books send while inside (an executemany is one), as text."""
    sent: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(books.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(books.engine, "before_cursor_execute", note)


def _writes_to(sent: list[str], table: str) -> list[str]:
    return [s for s in sent if s.split()[0] in ("INSERT", "UPDATE", "DELETE") and table in s]


@BACKENDS
def test_the_same_file_twice_writes_nothing_and_an_edit_records_just_its_rows(books, tmp_path):
    path = _partners(tmp_path, *_tree(60))
    assert import_master(books, "partners", path).accepted == 60
    with books.session() as session:
        session.execute(PendingRecalc.__table__.delete())  # as a recalculation leaves them
    with _statements(books) as sent:
        again = import_master(books, "partners", path)
    assert (again.accepted, again.duplicate) == (0, 60)
    assert not _writes_to(sent, "partners") and not _writes_to(sent, "master_changes")
    with books.session() as session:
        assert session.scalar(select(func.count()).select_from(MasterChange)) == 60
        assert not session.scalars(select(PendingRecalc.root_id)).all()  # nothing to recompute
    edited = _partners(tmp_path, *_tree(60, renamed=(3, 41)), name="edited.csv")
    batch = import_master(books, "partners", edited)
    assert (batch.accepted, batch.duplicate) == (2, 58)
    with books.session() as session:
        history = session.scalars(
            select(MasterChange).where(MasterChange.batch_id == batch.id).order_by(MasterChange.id)
        ).all()
        assert session.scalars(select(PendingRecalc.root_id)).all() == ["*"]
    assert [h.key for h in history] == ["P0003", "P0041"]
    assert [json.loads(h.before)["name"] for h in history] == ["Partner 3", "Partner 41"]
    assert [json.loads(h.after)["segment"] for h in history] == ["Gold", "Gold"]
    assert _changes(books, "P0041")[1][1]["name"] == "Partner 41 renamed"


def test_an_import_takes_as_many_statements_for_hundreds_of_rows_as_for_ten(tmp_path):
    """Stored rows are read once and the changed ones written in bulk: no query per row."""
    sent = {}
    for count in (10, 400):  # each size on books of its own, alike but for the rows
        books = Books.init(Settings(data_dir=tmp_path / f"books{count}", actor="tester"))
        first = _partners(tmp_path, *_tree(count), name=f"first{count}.csv")
        edited = _partners(tmp_path, *_tree(count, renamed=(1, 5)), name=f"edited{count}.csv")
        with _statements(books) as sent[count]:
            batches = [import_master(books, "partners", path) for path in (first, first, edited)]
        books.close()
        assert [b.accepted for b in batches] == [count, 0, 2]
    assert len(sent[400]) == len(sent[10])


@BACKENDS
def test_upserts_keep_every_change_with_before_and_after(books, tmp_path):
    first = import_master(
        books, "partners", _partners(tmp_path, ("ACME", "Acme", "", "Gold", "NA"))
    )
    assert (first.received, first.accepted, first.duplicate) == (1, 1, 0)
    same = import_master(books, "partners", _partners(tmp_path, ("ACME", "Acme", "", "Gold", "NA")))
    assert (same.accepted, same.duplicate) == (0, 1)
    moved = _partners(
        tmp_path, ("ACME", "Acme Corp", "", "Platinum", "NA"), ("BOLT", "Bolt", "", "", "EU")
    )
    assert import_master(books, "partners", moved).accepted == 2
    history = _changes(books, "ACME")
    assert [(b and b["segment"], a["segment"]) for b, a in history] == [
        (None, "Gold"),
        ("Gold", "Platinum"),
    ]
    assert history[1][1]["name"] == "Acme Corp"


def test_a_file_that_breaks_the_tree_is_refused_whole(books, tmp_path):
    import_master(
        books, "partners", _partners(tmp_path, ("A", "A", "", "", ""), ("B", "B", "A", "", ""))
    )
    cycle = _partners(tmp_path, ("A", "A", "B", "", ""), ("C", "C", "", "", ""))
    with pytest.raises(InputError, match="parent_id"):
        import_master(books, "partners", cycle)
    unknown = _partners(tmp_path, ("D", "D", "NOPE", "", ""))
    with pytest.raises(InputError, match="parent_id"):
        import_master(books, "partners", unknown)
    with books.session() as session:
        assert sorted(session.scalars(select(PartnerRow.id))) == ["A", "B"]  # nothing of C or D
        assert session.get(PartnerRow, "A").parent_id is None


def test_a_master_file_csv_cannot_read_is_refused_naming_it(books, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text(",".join(HEADER) + "\nX," + "a" * 200_000 + ",,,\n")
    with pytest.raises(InputError) as refused:
        import_master(books, "partners", path)
    [problem] = refused.value.problems
    assert (problem.file, problem.line) == (str(path), 2)
    assert problem.message == "not valid CSV: field larger than field limit (131072)"


def test_a_row_shorter_than_the_header_has_its_last_cells_empty(books, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text(",".join(HEADER) + "\nACME,Acme\nBOLT\n")
    with pytest.raises(InputError) as refused:
        import_master(books, "partners", path)
    assert [(p.line, p.field, p.message) for p in refused.value.problems] == [
        (3, "name", "must not be empty")
    ]
    path.write_text(",".join(HEADER) + "\nACME,Acme\n")
    assert import_master(books, "partners", path).accepted == 1
    with books.session() as session:
        acme = session.get(PartnerRow, "ACME")
        assert (acme.name, acme.parent_id, acme.segment, acme.region) == ("Acme", None, None, None)


def test_excel_master_files_equal_csv(books, tmp_path):
    book = Workbook()
    for row in (
        HEADER,
        ("ACME", "Acme", None, "Gold", "NA"),
        ("ACME-1", "Branch", "ACME", None, None),
    ):
        book.active.append(row)
    book.save(tmp_path / "partners.xlsx")
    assert import_master(books, "partners", tmp_path / "partners.xlsx").accepted == 2
    same = _partners(
        tmp_path, ("ACME", "Acme", "", "Gold", "NA"), ("ACME-1", "Branch", "ACME", "", "")
    )
    assert import_master(books, "partners", same).duplicate == 2


def test_reps_and_fx_rates_upsert(books, tmp_path):
    with_master(books, tmp_path)
    reps = write_csv(tmp_path / "reps.csv", ("rep_id", "name", "partner_id"),
                     [("R1", "Rita", "ACME"), ("R1", "Rita", "CORE")])  # fmt: skip
    fx = write_csv(tmp_path / "fx.csv", ("valid_from", "from_currency", "to_currency", "rate"),
                   [("2026-01-01", "EUR", "USD", "1.0812")])  # fmt: skip
    import_master(books, "reps", reps)
    import_master(books, "fx", fx)
    write_csv(fx, ("valid_from", "from_currency", "to_currency", "rate"),
              [("2026-01-01", "EUR", "USD", "1.0815")])  # fmt: skip
    assert import_master(books, "fx", fx).accepted == 1
    with books.session() as session:
        assert json.loads(session.get(RepRow, "R1").partner_ids) == ["ACME", "CORE"]
        assert [r.rate for r in session.scalars(select(FxRateRow))] == ["1.0815"]


def test_moving_a_branch_to_another_parent_moves_its_volume(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    receive(
        books, lines_file(tmp_path / "l.csv", [sale("X", "2026-02-10", "150000", partner="ACME-1")])
    )
    standings, _ = books_state(books)
    assert json.loads(standings[("e8", "ACME", "2026-Q1")])["earned"] == "3000.00"
    import_master(
        books, "partners", _partners(tmp_path, ("ACME-1", "Acme branch 1", "CORE", "", ""))
    )
    receive(
        books, lines_file(tmp_path / "none.csv", [sale("Y", "2026-02-11", "1", partner="BOLT")])
    )
    standings, _ = books_state(books)
    assert ("e8", "ACME", "2026-Q1") not in standings
    assert json.loads(standings[("e8", "CORE", "2026-Q1")])["earned"] == "3000.00"

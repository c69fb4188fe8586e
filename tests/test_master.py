"""Master data in the books: upserts by natural key, every change kept with before and after,
a partner tree that stays a tree, Excel like CSV, and a move in the tree recalculated."""

from __future__ import annotations

import json

import pytest
from bookkeeping import add_program, books_state, lines_file, receive, sale, with_master, write_csv
from conftest import BACKENDS
from openpyxl import Workbook
from sqlalchemy import select
from test_worked_examples import E8

from accrue.ingest.errors import InputError
from accrue.store.master import import_master
from accrue.store.tables import FxRateRow, MasterChange, PartnerRow, RepRow

HEADER = ("id", "name", "parent_id", "segment", "region")


def _partners(tmp_path, *rows, name="partners.csv"):
    return write_csv(tmp_path / name, HEADER, rows)


def _changes(books, key: str) -> list[tuple[dict | None, dict]]:
    with books.session() as session:
        rows = session.scalars(
            select(MasterChange).where(MasterChange.key == key).order_by(MasterChange.id)
        ).all()
    return [(json.loads(r.before) if r.before else None, json.loads(r.after)) for r in rows]


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

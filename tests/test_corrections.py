"""Corrections by revision: a higher revision supersedes explicitly, whatever order batches
arrive in; the superseded version stays on record, and a closed settlement still traces to the
lines it was computed from."""

from __future__ import annotations

import json

import pytest
from bookkeeping import (
    add_program,
    books_state,
    close,
    lines_file,
    receive,
    sale,
    settlement,
    with_master,
)
from conftest import BACKENDS
from test_worked_examples import E8

from accrue.store.books import Books
from accrue.store.trace import trace

ORIGINAL = sale("INV-9", "2026-02-10", "150000.00", revision="1")
CORRECTED = sale("INV-9", "2026-02-10", "120000.00", revision="2")
MOVED = sale("INV-9", "2026-02-10", "120000.00", partner="BOLT", revision="3")


def _earned(books, partner="CORE", period="2026-Q1") -> str | None:
    standings, _ = books_state(books)
    detail = standings.get(("e8", partner, period))
    return detail and json.loads(detail)["earned"]


@pytest.fixture
def books(books):
    with_master(books, books.settings.data_dir)
    add_program(books, E8)
    return books


@BACKENDS
def test_a_higher_revision_supersedes_and_trues_up(books, tmp_path):
    receive(books, lines_file(tmp_path / "v1.csv", [ORIGINAL]))
    assert _earned(books) == "3000.00"
    corrected = receive(books, lines_file(tmp_path / "v2.csv", [CORRECTED]))
    assert (corrected.batch.accepted, corrected.batch.corrected) == (1, 1)
    assert _earned(books) == "2400.00"
    again = receive(books, lines_file(tmp_path / "v2-again.csv", [CORRECTED]))
    assert (again.batch.accepted, again.batch.duplicate) == (0, 1)
    assert books.line_store.lines().count().execute() == 1  # only the current version counts


def test_a_correction_to_another_partner_recalculates_both(books, tmp_path):
    receive(books, lines_file(tmp_path / "v1.csv", [ORIGINAL]))
    receive(books, lines_file(tmp_path / "v3.csv", [MOVED]))
    assert _earned(books, "CORE") is None  # no line left: no standing, its accrual reversed
    assert _earned(books, "BOLT") == "2400.00"
    _, balances = books_state(books)
    assert {row[2] for row in balances} == {"BOLT"}


def test_revisions_in_any_order_give_the_same_books(books_settings, tmp_path):
    orders = {"in order": [ORIGINAL, CORRECTED, MOVED], "reversed": [MOVED, CORRECTED, ORIGINAL]}
    states = {}
    for name, rows in orders.items():
        settings = books_settings.model_copy(update={"data_dir": tmp_path / name})
        books = Books.init(settings)
        with_master(books, tmp_path)
        add_program(books, E8)
        outcomes = [receive(books, lines_file(tmp_path / f"{name}{i}.csv", [row])).batch
                    for i, row in enumerate(rows)]  # fmt: skip
        states[name] = books_state(books)
        if name == "reversed":  # older revisions arrive already superseded
            assert [b.outdated for b in outcomes] == [0, 1, 1]
        books.close()
    assert states["in order"] == states["reversed"]
    assert _earned_from(states["reversed"], "BOLT") == "2400.00"


def _earned_from(state, partner: str) -> str:
    return json.loads(state[0][("e8", partner, "2026-Q1")])["earned"]


def test_a_settlement_traces_to_the_lines_it_was_computed_from(books, tmp_path):
    receive(books, lines_file(tmp_path / "v1.csv", [ORIGINAL]))
    close(books, "2026-Q1")
    receive(books, lines_file(tmp_path / "v2.csv", [CORRECTED]))
    q1 = settlement(books, "e8", "CORE", "2026-Q1")
    found = trace(books, q1.id)
    assert found.reproduced and found.recomputed == 3000
    assert _earned(books) == "2400.00"  # the correction is an adjustment, not a rewrite
    assert settlement(books, "e8", "CORE", "2026-Q1").amount == q1.amount

"""Helpers for tests of the books: master data, line files and programs through the store."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from conftest import PARTNERS, PRODUCTS
from sqlalchemy import select

from accrue.app.books import close_period
from accrue.domain.program import parse_program
from accrue.ingest.lines import LINE_COLUMNS
from accrue.store import ledger
from accrue.store.ingest import import_lines
from accrue.store.master import import_master
from accrue.store.programs import import_program
from accrue.store.recalc import recalc
from accrue.store.tables import SettlementRow, StandingRow

AS_OF = date(2026, 12, 31)


def write_csv(path: Path, header, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def with_master(books, folder: Path):
    """The conftest partner tree and catalog, imported as files."""
    partners = write_csv(
        folder / "partners.csv",
        ("id", "name", "parent_id", "segment", "region"),
        [(p.id, p.name, p.parent_id or "", p.segment or "", p.region or "") for p in PARTNERS],
    )
    products = write_csv(
        folder / "products.csv",
        ("sku", "name", "category", "product_line"),
        [(p.sku, p.name, p.category, p.product_line) for p in PRODUCTS],
    )
    import_master(books, "partners", partners)
    import_master(books, "products", products)
    return books


def sale(document, day: str, amount: str, partner="CORE", quantity="1", line_no=1, **extra):
    kind = "return" if amount.startswith("-") else "sale"
    row = {
        "source": "erp",
        "document": document,
        "line_no": line_no,
        "kind": kind,
        "partner_id": partner,
        "sku": "V-100",
        "date": day,
        "quantity": quantity if kind == "sale" else f"-{quantity.lstrip('-')}",
        "amount": amount,
        "currency": "USD",
    }
    row.update(extra)
    return row


def lines_file(path: Path, rows: list[dict]) -> Path:
    extra = {c: None for row in rows for c in row if c not in LINE_COLUMNS}
    header = [*LINE_COLUMNS, *extra]
    return write_csv(path, header, [[row.get(c, "") for c in header] for row in rows])


def add_program(books, text: str, **options):
    return import_program(books, parse_program(text, "test"), **options)


def receive(books, path: Path, as_of: date = AS_OF):
    received = import_lines(books, path)
    recalc(books, as_of)
    return received


def close(books, *labels: str, as_of: date = AS_OF):
    return [close_period(books, label, as_of) for label in labels]


def settlement(books, program: str, partner: str, period: str) -> SettlementRow:
    with books.session() as session:
        query = select(SettlementRow).filter_by(
            program_id=program, partner_id=partner, period=period
        )
        return session.scalars(query).one()


def journals(books) -> list[dict]:
    with books.session() as session:
        return list(ledger.journal_rows(session))


def books_state(books) -> tuple[dict, list]:
    """Every stored standing and every non-zero ledger balance, for exact comparison."""
    with books.session() as session:
        standings = {
            (r.program_id, r.partner_id, r.period): r.detail
            for r in session.query(StandingRow).all()
        }
        return standings, ledger.balances_by_dimension(session)

"""A partner statement as a PDF (fpdf2): one page per section, money as exact text."""

from __future__ import annotations

from fpdf import FPDF

from accrue.domain.money import readable_money
from accrue.store.statements import Statement

SECTIONS = (  # (what, title, columns)
    ("standings", "Standings", ("program", "partner", "period", "tier", "measure", "amount")),
    (
        "settlements",
        "Settlements",
        (
            "id",
            "program",
            "partner",
            "period",
            "amount",
            "adjustments",
            "carried_in",
            "payout",
            "paid",
        ),
    ),
    ("lines", "Lines", ("product_line", "lines", "units", "amount")),
    ("payouts", "Payouts", ("date", "program", "memo", "amount")),
)


MONEY = frozenset({"amount", "adjustments", "carried_in", "payout", "paid"})


def _cell(row: dict, column: str) -> str:
    """Money as people read it, in the row's own currency (JPY 1,200; KWD 12.500)."""
    value = row.get(column, "")
    return _text(readable_money(value, row["currency"]) if column in MONEY else value)


def _text(value) -> str:
    """Core PDF fonts are Latin-1: anything else is replaced, never an error."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def render(statement: Statement) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Rebate statement {statement.partner_id} {statement.period}")
    pdf.set_author("Accrue")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0,
        10,
        _text(f"Rebate statement - {statement.partner_name} ({statement.partner_id})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(
        0,
        7,
        _text(f"Period {statement.period} - issued {statement.issued}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for key, title, columns in SECTIONS:
        rows = getattr(statement, key)
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        if not rows:
            pdf.cell(0, 6, "none", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(text_align="LEFT", first_row_as_headings=True) as table:
            table.row([c.replace("_", " ") for c in columns])
            for row in rows:
                table.row([_cell(row, c) for c in columns])
    return bytes(pdf.output())

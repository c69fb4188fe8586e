"""A partner statement as a PDF a distributor's accountant would file: who and which period,
totals per program and currency, where each program stood, what was settled, what was paid and
when, the purchases behind it; names, not keys; every figure in its unit; numbered pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from accrue.domain.money import ZERO, readable_money, round_half_up
from accrue.domain.program import Kind, Program
from accrue.explain import in_unit
from accrue.export.pdf import Document, latin
from accrue.store.books import Books
from accrue.store.statements import Statement
from accrue.store.tables import PartnerRow

FIGURES = {"Earned", "Settled", "Paid", "Still owed", "Measure", "Adjusted", "Carried in"}
FIGURES |= {"Payout", "Amount", "Lines", "Units"}


@dataclass(frozen=True)
class Names:
    """What the statement calls the partners and programs its rows name by key."""

    partners: dict[str, str]
    programs: dict[str, Program]

    def partner(self, key: str) -> str:
        return self.partners.get(key, key)

    def program(self, key: str) -> str:
        found = self.programs.get(key)
        return found.name if found else key

    def in_points(self, key: str) -> bool:
        found = self.programs.get(key)
        return bool(found and found.kind is Kind.POINTS)

    def earned(self, standing: dict) -> str:
        """Points for a points program (never money), money in its currency for any other."""
        if self.in_points(standing["program"]):
            return f"{standing.get('points', 0):,} points"
        return readable_money(standing["amount"], standing["currency"])

    def measure(self, key: str, value: str) -> str:
        """A standing's measure in its program's unit; a dash where there is none."""
        found = self.programs.get(key)
        if not value:
            return "-"
        return in_unit(found, Decimal(value)) if found else f"{round_half_up(Decimal(value), 2):,f}"


def names_for(books: Books, found: Statement) -> Names:
    """The names a statement shows: its partners' (the account and its branches) and the
    programs' latest versions."""
    partners = {row["partner"] for row in [*found.standings, *found.settlements]}
    with books.session() as session:
        query = select(PartnerRow.id, PartnerRow.name).where(PartnerRow.id.in_(sorted(partners)))
        return Names(dict(session.execute(query).tuples().all()), books.latest_programs(session))


def render(statement: Statement, names: Names) -> bytes:
    pdf = Document(f"Rebate statement {statement.partner_name} {statement.period}")
    pdf.heading(f"Rebate statement - {statement.partner_name}", 16)
    pdf.paragraph(
        f"Account {statement.partner_id} and its branches · period {statement.period} · "
        f"issued {statement.issued}"
    )
    for title, heads, rows in _sections(statement, names):
        pdf.heading(title)
        if not rows:
            pdf.paragraph("None in this period.")
            continue
        _table(pdf, heads, rows)
    return pdf.finished()


def _sections(statement: Statement, names: Names) -> list[tuple[str, tuple, list[list[str]]]]:
    money = readable_money
    return [
        (
            "Totals by program and currency",
            ("Program", "Earned", "Settled", "Paid", "Still owed"),
            _totals(statement, names),
        ),
        (
            "Where each program stands",
            ("Program", "Partner", "Period", "Tier", "Measure", "Earned"),
            [
                [
                    names.program(s["program"]),
                    names.partner(s["partner"]),
                    s["period"],
                    s["tier"],
                    names.measure(s["program"], s["measure"]),
                    names.earned(s),
                ]
                for s in statement.standings
            ],
        ),
        (
            "Settlements",
            ("Program", "Partner", "Period", "Settled", "Adjusted", "Carried in", "Payout", "Paid"),
            [
                [
                    names.program(s["program"]),
                    names.partner(s["partner"]),
                    s["period"],
                    *(
                        money(s[k], s["currency"])
                        for k in ("amount", "adjustments", "carried_in", "payout", "paid")
                    ),
                ]
                for s in statement.settlements
            ],
        ),
        (
            "Payments",
            ("Paid on", "Program", "Reference", "Amount"),
            [
                [
                    p["date"],
                    names.program(p["program"]),
                    p["memo"],
                    money(p["amount"], p["currency"]),
                ]
                for p in statement.payouts
            ],
        ),
        (
            "Purchases by product line",
            ("Product line", "Lines", "Units", "Amount"),
            [
                [
                    line["product_line"],
                    f"{line['lines']:,}",
                    f"{Decimal(line['units']):,f}",
                    money(line["amount"], line["currency"]),
                ]
                for line in statement.lines
            ],
        ),
    ]


def _totals(statement: Statement, names: Names) -> list[list[str]]:
    """Per program and currency: earned in the period, settled (the payouts), paid, owed; points
    programs owe no money and are left to the standings."""
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for s in statement.standings:
        if names.in_points(s["program"]):
            continue
        sums[(names.program(s["program"]), s["currency"])][0] += Decimal(s["amount"])
    for s in statement.settlements:
        entry = sums[(names.program(s["program"]), s["currency"])]
        entry[1] += Decimal(s["payout"])
        entry[2] += Decimal(s["paid"])
    return [
        [
            f"{program} ({currency})",
            *(readable_money(v, currency) for v in (earned, settled, paid, settled - paid)),
        ]
        for (program, currency), (earned, settled, paid) in sorted(sums.items())
    ]


def _table(pdf: Document, heads: tuple, rows: list[list[str]]) -> None:
    """Text on the left, figures on the right, headings repeated on every page."""
    pdf.set_font("Helvetica", "", 8.5)
    align = tuple("RIGHT" if head in FIGURES else "LEFT" for head in heads)
    with pdf.table(text_align=align, first_row_as_headings=True, repeat_headings=1) as table:
        table.row(list(heads))
        for row in rows:
            table.row([latin(cell) for cell in row])
    pdf.set_font("Helvetica", "", 10)

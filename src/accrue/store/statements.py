"""A partner's statement for a period: where each program stood, what was settled, the lines
behind it, and what was paid — everything the PDF shows, gathered in one place."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from accrue.domain.errors import NotFound
from accrue.domain.money import ZERO, round_money
from accrue.domain.periods import Period
from accrue.store import ledger
from accrue.store.books import Books
from accrue.store.tables import JournalRow, PartnerRow, PostingRow, SettlementRow, StandingRow


@dataclass(frozen=True)
class Statement:
    partner_id: str
    partner_name: str
    period: str
    issued: str
    standings: list[dict]  # program, period, tier, measure, amount, payout
    settlements: list[
        dict
    ]  # id, program, period, amount, adjustments, carried in/out, payout, paid
    lines: list[dict]  # product line, lines, units, net amount, currency
    payouts: list[dict]  # date, program, memo, amount, currency


def statement(books: Books, partner_id: str, label: str) -> Statement:
    """Partner `partner_id` and its branches, in every period within `label`."""
    period = Period.parse(label)
    with books.session() as session:
        partner = session.get(PartnerRow, partner_id)
        if partner is None:
            raise NotFound(f"no partner {partner_id}")
        family = sorted(books.tree(session).under({partner_id}))
        standings = [
            _standing(r)
            for r in session.scalars(select(StandingRow).where(StandingRow.partner_id.in_(family)))
            if Period.parse(r.period).within(period)
        ]
        settlements = [
            _settlement(r)
            for r in session.scalars(
                select(SettlementRow).where(SettlementRow.partner_id.in_(family))
            )
            if Period.parse(r.period).within(period)
        ]
        payouts = _payouts(session, family, period)
    return Statement(
        partner_id,
        partner.name,
        period.label,
        books.clock().date().isoformat(),
        sorted(standings, key=lambda s: (s["program"], s["period"], s["partner"])),
        sorted(settlements, key=lambda s: s["id"]),
        _lines(books, family, period),
        payouts,
    )


def _standing(row: StandingRow) -> dict:
    detail = json.loads(row.detail)
    return {
        "program": row.program_id,
        "partner": row.partner_id,
        "period": row.period,
        "tier": detail.get("tier_name") or "-",
        "measure": detail.get("measure") or "",
        "amount": row.amount,
        "points": row.points,
        "currency": row.currency,
    }


def _settlement(row: SettlementRow) -> dict:
    return {
        "id": row.id,
        "program": row.program_id,
        "partner": row.partner_id,
        "period": row.period,
        "amount": row.amount,
        "adjustments": row.adjustments,
        "carried_in": row.carried_in,
        "payout": row.payout,
        "paid": row.paid,
        "currency": row.currency,
    }


def _lines(books: Books, family: list[str], period: Period) -> list[dict]:
    with books.session() as session:
        product_lines = {p.sku: p.product_line for p in books.master(session)["products"]}
    table = books.line_store.lines()
    rows = (
        table.filter(
            table.partner_id.isin(family)
            & (table.date >= period.start)
            & (table.date <= period.end)
        )
        .select("sku", "quantity_milli", "amount_micros", "currency")
        .to_pyarrow()
        .to_pylist()
    )
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, ZERO, ZERO])
    for row in rows:
        entry = totals[(product_lines.get(row["sku"], "(other)"), row["currency"])]
        entry[0] += 1
        entry[1] += Decimal(row["quantity_milli"]).scaleb(-3)
        entry[2] += Decimal(row["amount_micros"]).scaleb(-6)
    return [
        {
            "product_line": line,
            "lines": n,
            "units": format(units.normalize(), "f"),
            "amount": round_money(amount, currency),
            "currency": currency,
        }
        for (line, currency), (n, units, amount) in sorted(totals.items())
    ]


def _payouts(session, family: list[str], period: Period) -> list[dict]:
    """Payout journals for the period's settlements (what left for the partner)."""
    rows = session.execute(
        select(JournalRow, PostingRow)
        .join(PostingRow, PostingRow.journal_id == JournalRow.id)
        .where(
            JournalRow.kind == "payout",
            JournalRow.partner_id.in_(family),
            PostingRow.amount_minor > 0,
        )
        .order_by(JournalRow.id)
    ).tuples()
    return [
        {
            "date": j.posted_on.isoformat(),
            "program": j.program_id,
            "memo": j.memo,
            "amount": ledger.from_minor(p.amount_minor, j.currency),
            "currency": j.currency,
        }
        for j, p in rows
        if Period.parse(j.period).within(period)
    ]

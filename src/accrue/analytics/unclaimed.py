"""Money partners could still claim and have not: fund balances before they expire, and sales
under a ship-and-debit agreement not yet claimed while the claim window is open — with the
days left, by program and partner, and the share of each program's value left unclaimed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from accrue.domain.money import ZERO, round_half_up, round_money
from accrue.domain.shipdebit import invoice_key
from accrue.store.books import Books
from accrue.store.claims import latest_agreements
from accrue.store.funds import fund_partners, fund_programs, tranches
from accrue.store.tables import AgreementRow, ClaimLineRow, ClaimRow


@dataclass(frozen=True)
class Unclaimed:
    kind: str  # fund or ship_and_debit
    program_id: str  # the fund program or the agreement
    partner_id: str
    currency: str
    unclaimed: Decimal
    claimed: Decimal
    days_left: int | None  # None: no deadline
    note: str = ""

    @property
    def share(self) -> Decimal | None:
        whole = self.unclaimed + self.claimed
        return round_half_up(self.unclaimed / whole, 4) if whole else None


def unclaimed(books: Books, today: date) -> list[Unclaimed]:
    return _funds(books, today) + _ship_and_debit(books, today)


def _funds(books: Books, today: date) -> list[Unclaimed]:
    found = []
    with books.session() as session:
        for program in fund_programs(books, session):
            for partner_id in fund_partners(session, program):
                for t in tranches(session, program, partner_id):
                    if t.remaining > 0 and t.usable_on(today):
                        found.append(
                            Unclaimed(
                                "fund",
                                program.id,
                                partner_id,
                                program.currency,
                                round_money(t.remaining, program.currency),
                                t.used,
                                (t.expires_on - today).days if t.expires_on else None,
                                f"funds of {t.period}",
                            )
                        )
    return found


def _ship_and_debit(books: Books, today: date) -> list[Unclaimed]:
    """Sales of an agreement's products by its distributor, in its dates and still inside the
    claim window, on invoice lines never claimed. The line store does not know the end
    customer, so this is what could be claimed at most."""
    with books.session() as session:
        ids = session.scalars(select(AgreementRow.id).distinct()).all()
        agreements = latest_agreements(session, ids)
        claimed_keys = set(
            session.scalars(
                select(ClaimLineRow.invoice_key)
                .join(ClaimRow, ClaimRow.id == ClaimLineRow.claim_id)
                .where(ClaimRow.status != "rejected")
            )
        )
        claimed_amounts: dict[str, Decimal] = defaultdict(Decimal)
        for agreement_id, amount in session.execute(
            select(ClaimLineRow.agreement_id, ClaimLineRow.amount)
        ):
            claimed_amounts[agreement_id] += Decimal(amount)
    table = books.line_store.lines()
    found = []
    for agreement in agreements.values():
        window = timedelta(days=agreement.claim_window_days)
        rows = (
            table.filter(
                (table.partner_id == agreement.partner_id)
                & table.sku.isin(sorted(agreement.products))
                & (table.date >= max(agreement.valid_from, today - window))
                & (table.date <= agreement.valid_to)
                & table.kind.isin(["sale", "pos"])
            )
            .select("document", "line_no", "sku", "date", "quantity_milli")
            .to_pyarrow()
            .to_pylist()
        )
        open_lines = [
            r
            for r in rows
            if invoice_key(agreement.partner_id, r["document"], str(r["line_no"]))
            not in claimed_keys
        ]
        if not open_lines:
            continue
        amount = sum(
            (
                Decimal(r["quantity_milli"]).scaleb(-3) * agreement.products[r["sku"]].credit
                for r in open_lines
            ),
            ZERO,
        )
        first = min(r["date"] for r in open_lines)
        found.append(
            Unclaimed(
                "ship_and_debit",
                agreement.id,
                agreement.partner_id,
                agreement.currency,
                round_money(amount, agreement.currency),
                claimed_amounts[agreement.id],
                (first + window - today).days,
                f"{len(open_lines)} invoice line(s) not claimed; end customer not known: at most",
            )
        )
    return found

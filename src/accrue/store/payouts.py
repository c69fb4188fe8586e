"""Payout batches: approved settlements paid together by one method in one currency.

A batch is prepared by one person and released by others (see accrue.store.approvals); its
files can be downloaded any number of times, but it is marked paid once — the status change is
conditional, so a second attempt, concurrent or late, finds the batch already paid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from accrue.domain.approvals import Status, Subject
from accrue.domain.errors import Conflict, NotFound
from accrue.domain.ledger import PayoutMethod
from accrue.domain.money import ZERO, minor_unit
from accrue.export.cells import csv_text
from accrue.export.payments import Payee, Payer, pain001, payees_csv
from accrue.store import ledger
from accrue.store.approvals import Approvable, approvable, is_approved, submit
from accrue.store.books import Books
from accrue.store.close import pay_settlement
from accrue.store.tables import (
    ApprovalRow,
    PartnerRow,
    PayoutBatchRow,
    PayoutItemRow,
    SettlementRow,
)

PAID = "paid"


class PayoutError(Conflict):
    """A batch that cannot be made, released or paid; the message says why."""


@dataclass(frozen=True)
class PayoutFile:
    name: str
    media_type: str
    content: bytes


def payable(session: Session, currency: str | None = None) -> list[SettlementRow]:
    """Approved settlements with something left to pay and in no batch."""
    batched = select(PayoutItemRow.settlement_id)
    approved = select(ApprovalRow.subject_id).where(
        ApprovalRow.subject == Subject.SETTLEMENT.value, ApprovalRow.status == Status.APPROVED
    )
    query = select(SettlementRow).where(
        SettlementRow.id.in_(approved), SettlementRow.id.not_in(batched)
    )
    if currency:
        query = query.where(SettlementRow.currency == currency)
    rows = session.scalars(query.order_by(SettlementRow.id)).all()
    return [r for r in rows if Decimal(r.payout) - Decimal(r.paid) > 0]


def create_batch(
    books: Books, method: PayoutMethod, currency: str, settlement_ids: list[int] | None = None
) -> PayoutBatchRow:
    """A batch of the given (or all payable) settlements, submitted for release."""
    with books.session() as session:
        candidates = {s.id: s for s in payable(session, currency)}
        wanted = sorted(candidates) if settlement_ids is None else sorted(set(settlement_ids))
        missing = [i for i in wanted if i not in candidates]
        if missing:
            raise PayoutError(
                f"settlement_ids: {missing} are not payable in {currency} (not approved, "
                "already batched or paid, or in another currency)"
            )
        if not wanted:
            raise PayoutError(f"no approved, unpaid settlement in {currency} to pay")
        rows = [candidates[i] for i in wanted]
        if method is PayoutMethod.BANK_TRANSFER:
            payer(books)
            _check_bank_details(session, rows, currency)
        total = sum((Decimal(r.payout) - Decimal(r.paid) for r in rows), ZERO)
        batch = PayoutBatchRow(
            method=method.value,
            currency=currency,
            status=Status.PENDING.value,
            total=str(total),
            reference="",
            created_by=books.settings.actor,
            created_at=books.now(),
        )
        session.add(batch)
        session.flush()
        batch.reference = f"ACCRUE-B{batch.id}"
        session.add_all(
            PayoutItemRow(
                batch_id=batch.id,
                settlement_id=r.id,
                amount=str(Decimal(r.payout) - Decimal(r.paid)),
            )
            for r in rows
        )
        books.audit(
            session,
            "create",
            "payout_batch",
            str(batch.id),
            after={
                "method": method.value,
                "currency": currency,
                "total": str(total),
                "settlement_ids": wanted,
            },
        )
        request = submit(books, session, Subject.PAYOUT_BATCH, batch.id)
        batch.status = request.status
    return batch


def _check_bank_details(session: Session, rows: list[SettlementRow], currency: str) -> None:
    if minor_unit(currency) != 2:
        raise PayoutError(
            f"currency: bank transfer files are for 2-decimal currencies, not {currency}"
        )
    for row in rows:
        details = _attributes(session.get(PartnerRow, row.partner_id))
        if not details.get("iban"):
            raise PayoutError(
                f"partner {row.partner_id} has no iban: add iban (and bic) columns to the "
                "partners file, or pay by credit memo or check"
            )


def payer(books: Books) -> Payer:
    """Who pays, as configured; a bank file is never written with a made-up account."""
    settings = books.settings
    if not (settings.payer_name and settings.payer_iban):
        raise PayoutError(
            "payer: set ACCRUE_PAYER_NAME and ACCRUE_PAYER_IBAN (and ACCRUE_PAYER_BIC) to the "
            "account rebates are paid from before paying by bank transfer"
        )
    return Payer(settings.payer_name, settings.payer_iban, settings.payer_bic)


def _attributes(partner: PartnerRow | None) -> dict:
    return json.loads(partner.attributes) if partner and partner.attributes else {}


def items(session: Session, batch_id: int) -> list[tuple[PayoutItemRow, SettlementRow]]:
    return list(
        session.execute(
            select(PayoutItemRow, SettlementRow)
            .join(SettlementRow, SettlementRow.id == PayoutItemRow.settlement_id)
            .where(PayoutItemRow.batch_id == batch_id)
            .order_by(PayoutItemRow.id)
        ).tuples()
    )


def mark_paid(books: Books, batch_id: int, on: date) -> PayoutBatchRow:
    """Post every payout journal and mark the batch paid, once."""
    with books.session() as session:
        batch = session.get(PayoutBatchRow, batch_id)
        if batch is None:
            raise NotFound(f"no payout batch {batch_id}")
        released = session.execute(
            update(PayoutBatchRow)
            .where(PayoutBatchRow.id == batch_id, PayoutBatchRow.status == Status.APPROVED)
            .values(status=PAID, paid_on=on)
        )
        if released.rowcount != 1:
            raise PayoutError(
                f"payout batch {batch_id} is {batch.status}, not approved for payment"
            )
        if not is_approved(session, Subject.PAYOUT_BATCH, batch_id):
            raise PayoutError(f"payout batch {batch_id} has no approved release")
        method = PayoutMethod(batch.method)
        for item, settlement in items(session, batch_id):
            item.journal_id = pay_settlement(
                books, session, settlement, method, f"{batch.reference}-S{settlement.id}", on
            )
        books.audit(
            session,
            "pay",
            "payout_batch",
            str(batch_id),
            after={"total": batch.total, "on": on.isoformat()},
        )
        session.refresh(batch)
    return batch


def _released(books: Books, session: Session, batch_id: int, status: Status) -> None:
    """A decided batch: released for payment, or dissolved so its settlements can be batched
    again."""
    batch = session.get(PayoutBatchRow, batch_id)
    batch.status = status.value
    if status is Status.REJECTED:
        session.execute(delete(PayoutItemRow).where(PayoutItemRow.batch_id == batch.id))


approvable(Subject.PAYOUT_BATCH, Approvable(PayoutBatchRow, lambda r: Decimal(r.total), _released))


def files(books: Books, batch_id: int, on: date | None = None) -> list[PayoutFile]:
    """What to send: the bank file, credit memos or checks; and, once paid, the journals."""
    with books.session() as session:
        batch = session.get(PayoutBatchRow, batch_id)
        if batch is None:
            raise NotFound(f"no payout batch {batch_id}")
        if batch.status not in (Status.APPROVED, PAID):
            raise PayoutError(f"payout batch {batch_id} is {batch.status}: release it first")
        payees = [
            _payee(session, item, settlement) for item, settlement in items(session, batch_id)
        ]
        method = PayoutMethod(batch.method)
        name = f"payout-{batch_id}"
        found = []
        if method is PayoutMethod.BANK_TRANSFER:
            when = batch.paid_on or on or date.today()
            content = pain001(batch_id, batch.currency, payer(books), payees, when)
            found.append(PayoutFile(f"{name}.pain.001.xml", "application/xml", content))
        else:
            kind = "credit_memo" if method is PayoutMethod.CREDIT_MEMO else "check"
            content = payees_csv(payees, batch.currency, batch_id, kind)
            found.append(PayoutFile(f"{name}-{kind.replace('_', '-')}s.csv", "text/csv", content))
        if batch.status == PAID:
            found.append(
                PayoutFile(f"{name}-journals.csv", "text/csv", _journals_csv(session, batch_id))
            )
    return found


def file(books: Books, batch_id: int, name: str, on: date | None = None) -> PayoutFile:
    """One of a batch's files by name, or LookupError."""
    for found in files(books, batch_id, on):
        if found.name == name:
            return found
    raise NotFound(f"no file {name} for payout batch {batch_id}")


def _payee(session: Session, item: PayoutItemRow, settlement: SettlementRow) -> Payee:
    partner = session.get(PartnerRow, settlement.partner_id)
    details = _attributes(partner)
    memo = f"Rebate {settlement.program_id} {settlement.period} (settlement {settlement.id})"
    return Payee(
        settlement.id,
        settlement.partner_id,
        partner.name if partner else settlement.partner_id,
        Decimal(item.amount),
        memo,
        details.get("iban"),
        details.get("bic"),
    )


def _journals_csv(session: Session, batch_id: int) -> bytes:
    ids = [item.journal_id for item, _ in items(session, batch_id)]
    rows = (row for i in ids for row in ledger.journal_rows(session, i, i))
    return csv_text(ledger.JOURNAL_COLUMNS, rows).encode()

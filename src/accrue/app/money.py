"""Use cases where money leaves: settlements submitted for approval, requests decided (a final
decision settles what it was about, through the registry in `accrue.store.approvals`), payout
batches made and marked paid."""

from __future__ import annotations

from datetime import date

from accrue.domain.approvals import Subject
from accrue.domain.ledger import PayoutMethod
from accrue.store import payouts
from accrue.store.approvals import decide_request, submit
from accrue.store.books import Books
from accrue.store.tables import ApprovalRow, PayoutBatchRow


def submit_settlements(books: Books, settlement_ids: list[int]) -> list[ApprovalRow]:
    """Ask for approval of these settlements' payouts, all or none (one transaction); an
    amount under every threshold is approved at once."""
    with books.session() as session:
        return [submit(books, session, Subject.SETTLEMENT, i) for i in settlement_ids]


def decide(books: Books, request_id: int, approve: bool, reason: str = "") -> ApprovalRow:
    """Approve the next level or reject, as the books' actor (never one's own item)."""
    return decide_request(books, request_id, approve, reason)


def batch_payouts(
    books: Books, method: PayoutMethod, currency: str, settlement_ids: list[int] | None = None
) -> PayoutBatchRow:
    """The given (or every) approved, unpaid settlement in a currency, in one batch that goes
    for approval before its files are released."""
    return payouts.create_batch(books, method, currency, settlement_ids)


def mark_paid(books: Books, batch_id: int, on: date) -> PayoutBatchRow:
    """A released batch paid: one payout journal per settlement, once."""
    return payouts.mark_paid(books, batch_id, on)

"""The demo's people at work, after `make run` has closed the periods: finance submits the
largest settlements of the last closed quarter for approval, two approvers decide some of them
(one rejected, with a reason), finance batches what was approved and an approver releases the
batch — each as the named demo user who would do it, so the approval and audit pages show
who did what. `python examples/demo_people.py demo-books` (run once, by the Makefile)."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from accrue.domain.approvals import Subject
from accrue.domain.ledger import PayoutMethod
from accrue.settings import Settings
from accrue.store import payouts
from accrue.store.approvals import decide_request, latest, submit
from accrue.store.books import Books
from accrue.store.tables import SettlementRow

QUARTER = "2026-Q3"
SUBMITTED = 12  # the largest settlements of QUARTER finance submits
APPROVED = 6  # of those, the ones the approvers approve (the rest wait for them)


def largest(books: Books, period: str, count: int) -> list[int]:
    """The `count` settlements of `period` with the most to pay, in US dollars."""
    with books.session() as session:
        rows = session.scalars(
            select(SettlementRow).where(
                SettlementRow.period == period, SettlementRow.currency == "USD"
            )
        ).all()
    owing = sorted(rows, key=lambda r: (-(Decimal(r.payout) - Decimal(r.paid)), r.id))
    return [r.id for r in owing[:count]]


def main(data_dir: Path) -> None:
    books = Books.open(Settings(data_dir=data_dir))
    finance, approver, second = (books.acting_as(u) for u in ("finance", "approver", "approver2"))
    with finance.session() as session:
        asked = [
            submit(finance, session, Subject.SETTLEMENT, i)
            for i in largest(books, QUARTER, SUBMITTED)
        ]
    for request in asked[:APPROVED]:
        approve(request.id, approver, second)
    decide_request(second, asked[APPROVED].id, False, "the Q3 returns are not booked yet")
    batch = payouts.create_batch(finance, PayoutMethod.CREDIT_MEMO, "USD")
    with books.session() as session:
        release = latest(session, Subject.PAYOUT_BATCH, batch.id).id
    approve(release, approver, second)
    print(
        f"finance submitted {len(asked)} settlements of {QUARTER}; {APPROVED} approved, "
        f"1 rejected, {len(asked) - APPROVED - 1} wait for an approver; "
        f"credit memo batch {batch.id} ({batch.total} USD) released"
    )
    books.close()


def approve(request_id: int, *approvers: Books) -> None:
    """Each approver in turn gives the next level until the request needs no more."""
    for approver in approvers:
        if decide_request(approver, request_id, True).status != "pending":
            return


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Approval requests for settlements and payout batches, decided with segregation of duties.

Deciding reads the request and its decisions and writes the next one in one transaction that
holds the request's row (and, on PostgreSQL, the writers' lock), and the database refuses two
decisions for one level: two approvers pressing the button together release an item once.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accrue.domain import notices
from accrue.domain.approvals import ApprovalError, Decision, Levels, Status, Subject, decide
from accrue.domain.errors import NotFound
from accrue.store import notify
from accrue.store.books import Books
from accrue.store.tables import (
    ApprovalRow,
    ClaimRow,
    DecisionRow,
    DisputeRow,
    PayoutBatchRow,
    PayoutItemRow,
    SettlementRow,
)


def _amount(session: Session, subject: Subject, subject_id: int) -> tuple[Decimal, str]:
    """What the item would pay out, and in which currency."""
    table, money = SUBJECTS[subject]
    row = session.get(table, subject_id)
    if row is None:
        raise NotFound(f"no {subject.value.replace('_', ' ')} {subject_id}")
    return money(row), row.currency


SUBJECTS = {
    Subject.SETTLEMENT: (SettlementRow, lambda r: Decimal(r.payout) - Decimal(r.paid)),
    Subject.PAYOUT_BATCH: (PayoutBatchRow, lambda r: Decimal(r.total)),
    Subject.CLAIM: (ClaimRow, lambda r: Decimal(r.approved)),
    Subject.DISPUTE: (DisputeRow, lambda r: abs(Decimal(r.adjustment or 0))),
}


def latest(session: Session, subject: Subject, subject_id: int) -> ApprovalRow | None:
    return session.scalar(
        select(ApprovalRow)
        .where(ApprovalRow.subject == subject.value, ApprovalRow.subject_id == subject_id)
        .order_by(ApprovalRow.id.desc())
        .limit(1)
    )


def is_approved(session: Session, subject: Subject, subject_id: int) -> bool:
    request = latest(session, subject, subject_id)
    return request is not None and request.status == Status.APPROVED


def submit(books: Books, session: Session, subject: Subject, subject_id: int) -> ApprovalRow:
    """Ask for approval, in the caller's transaction; an amount under every threshold is
    approved at once (and says so in the audit trail)."""
    amount, currency = _amount(session, subject, subject_id)
    if subject is Subject.SETTLEMENT and amount <= 0:
        raise ApprovalError(f"settlement {subject_id} has nothing to pay")
    previous = latest(session, subject, subject_id)
    if previous is not None and previous.status != Status.REJECTED:
        raise ApprovalError(f"{subject.value} {subject_id} is already {previous.status}")
    required = Levels.parse(books.settings.approval_levels).required(amount)
    request = ApprovalRow(
        subject=subject.value,
        subject_id=subject_id,
        amount=str(amount),
        currency=currency,
        levels_required=required,
        status=(Status.PENDING if required else Status.APPROVED).value,
        prepared_by=books.settings.actor,
        submitted_at=books.now(),
        decided_at=None if required else books.now(),
    )
    session.add(request)
    session.flush()
    books.audit(
        session,
        "submit",
        subject.value,
        str(subject_id),
        after={"request": request.id, "amount": str(amount), "approvals_needed": required},
    )
    if request.status == Status.PENDING:
        _ask_next(books, session, request, [])
    return request


def _ask_next(books: Books, session: Session, request: ApprovalRow, decisions: list[Decision]):
    """Tell everyone who may give the request's next approval that it waits for them."""
    notice = notices.approval_waiting(
        request.id,
        request.subject,
        request.subject_id,
        Decimal(request.amount),
        request.currency,
        request.prepared_by,
        len(decisions) + 1,
        request.levels_required,
    )
    notify.tell(session, books, notice, notify.approvers(session, request.prepared_by, decisions))


def submit_settlement(books: Books, settlement_id: int) -> ApprovalRow:
    with books.session() as session:
        return submit(books, session, Subject.SETTLEMENT, settlement_id)


def decide_request(books: Books, request_id: int, approve: bool, reason: str = "") -> ApprovalRow:
    actor = books.settings.actor
    with books.session() as session:
        request = session.scalar(
            select(ApprovalRow).where(ApprovalRow.id == request_id).with_for_update()
        )
        if request is None:
            raise NotFound(f"no approval request {request_id}")
        decisions = [
            Decision(d.level, d.user, d.approve, d.reason)
            for d in session.scalars(
                select(DecisionRow).where(DecisionRow.request_id == request_id)
            )
        ]
        status, decision = decide(
            request.prepared_by,
            request.levels_required,
            Status(request.status),
            decisions,
            actor,
            approve,
            reason,
        )
        session.add(
            DecisionRow(
                request_id=request_id,
                level=decision.level,
                user=actor,
                approve=approve,
                reason=decision.reason,
                at=books.now(),
            )
        )
        request.status = status.value
        if status is Status.PENDING:
            _ask_next(books, session, request, [*decisions, decision])
        else:
            request.decided_at = books.now()
            _settle_subject(books, session, request, status)
        session.flush()  # a second decision for this level fails here, not later
        books.audit(
            session,
            "approve" if approve else "reject",
            request.subject,
            str(request.subject_id),
            after={
                "request": request_id,
                "level": decision.level,
                "of": request.levels_required,
                "status": status.value,
                "reason": decision.reason,
            },
        )
    return request


def _settle_subject(books: Books, session: Session, request: ApprovalRow, status: Status) -> None:
    """What a decision does to its item: a claim or dispute is posted (or refused); a payout
    batch released (or dissolved, so its settlements can be batched again)."""
    if request.subject in (Subject.CLAIM, Subject.DISPUTE):
        # these modules submit through this one: imported here, when a decision needs them
        from accrue.store.claims import settle_claim
        from accrue.store.disputes import settle_dispute

        settle = settle_claim if request.subject == Subject.CLAIM else settle_dispute
        settle(books, session, request.subject_id, status)
        return
    if request.subject != Subject.PAYOUT_BATCH:
        return
    batch = session.get(PayoutBatchRow, request.subject_id)
    batch.status = status.value
    if status is Status.REJECTED:
        session.execute(delete(PayoutItemRow).where(PayoutItemRow.batch_id == batch.id))

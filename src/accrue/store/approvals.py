"""Approval requests for settlements, payout batches, claims and dispute adjustments, decided
with segregation of duties.

What can be approved is registered by the module that owns it (`approvable`): its row, what
it would pay, and what a final decision does to it. This module imports none of them, so they
may all submit through it without a circle of imports.

Deciding reads the request and its decisions and writes the next one in one transaction that
holds the request's row (and, on PostgreSQL, the writers' lock), and the database refuses two
decisions for one level: two approvers pressing the button together release an item once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.domain import notices
from accrue.domain.approvals import ApprovalError, Decision, Levels, Status, Subject, decide
from accrue.domain.errors import NotFound
from accrue.domain.identifiers import check_text
from accrue.store import notify
from accrue.store.books import Books
from accrue.store.tables import ApprovalRow, DecisionRow

Settle = Callable[[Books, Session, int, Status], None]


def _unchanged(books: Books, session: Session, subject_id: int, status: Status) -> None:
    """A decision that changes nothing but the request (a settlement: paying reads it)."""


@dataclass(frozen=True)
class Approvable:
    """One kind of thing that goes for approval: its table, what a row would pay out, and
    what a final decision (approved or rejected) does to it, in the deciding transaction."""

    table: type
    pays: Callable[[Any], Decimal]
    settle: Settle = _unchanged


_KINDS: dict[Subject, Approvable] = {}


def approvable(subject: Subject, kind: Approvable) -> None:
    """Register what approving `subject` means; called once by the module that owns it."""
    _KINDS[subject] = kind


def _kind(subject: Subject | str) -> Approvable:
    found = _KINDS.get(Subject(subject))
    if found is None:  # a module that owns approvals was not loaded: a bug, not bad input
        raise LookupError(f"nothing registered to approve {subject}s (see accrue.app)")
    return found


def _amount(session: Session, subject: Subject, subject_id: int) -> tuple[Decimal, str]:
    """What the item would pay out, and in which currency."""
    kind = _kind(subject)
    row = session.get(kind.table, subject_id)
    if row is None:
        raise NotFound(f"no {subject.value.replace('_', ' ')} {subject_id}")
    return kind.pays(row), row.currency


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
    check_text("reason", reason)
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
            _kind(request.subject).settle(books, session, request.subject_id, status)
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

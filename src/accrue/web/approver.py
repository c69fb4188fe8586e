"""The approver's landing page: the requests that wait for *this* person, with what each is by
name, its amount, who prepared it and how long it has waited, decided from the page; and
beside them the requests the rules keep from them (their own, or a level they already gave),
saying why, so segregation of duties is seen before a button refuses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from accrue.domain.approvals import Levels, Status, Subject
from accrue.store.tables import (
    ApprovalRow,
    ClaimRow,
    DecisionRow,
    DisputeRow,
    PayoutBatchRow,
    PayoutItemRow,
    SettlementRow,
)
from accrue.web.pages import page, pages
from accrue.web.session import Viewer
from accrue.web.views import names_of, people_names, program_names

RECENT = 20  # the viewer's own latest decisions listed under the waiting ones


@dataclass(frozen=True)
class Waiting:
    """One pending request as the approver reads it."""

    request: ApprovalRow
    what: str  # "settlement 12"
    about: str  # partner · program · period, by name
    prepared_by: str  # the preparer's full name
    days: int  # since it was submitted
    given: list[str]  # who approved the levels decided so far, in order
    blocked: str  # why the viewer may not decide it; "" when they may

    @property
    def waited(self) -> str:
        return "today" if self.days <= 0 else "1 day" if self.days == 1 else f"{self.days} days"


@dataclass(frozen=True)
class ApproverView:
    mine: list[Waiting]  # the viewer may decide these, oldest first
    others: list[Waiting]  # pending, but not the viewer's to decide
    decided: list[tuple[DecisionRow, ApprovalRow, str]]  # the viewer's latest, with `about`

    @property
    def totals(self) -> dict[str, Decimal]:
        """What the requests waiting for the viewer would release, per currency."""
        found: dict[str, Decimal] = defaultdict(Decimal)
        for waiting in self.mine:
            found[waiting.request.currency] += Decimal(waiting.request.amount)
        return dict(sorted(found.items()))

    @property
    def oldest(self) -> Waiting | None:
        return max(self.mine, key=lambda w: w.days, default=None)


def blocked(username: str, request: ApprovalRow, given: list[str]) -> str:
    """Why the rules of accrue.domain.approvals refuse this person's decision, or ""."""
    if request.prepared_by == username:
        return "you prepared it: someone else decides"
    if username in given:
        return "you gave an approval already: another approver gives the next"
    return ""


def approver(viewer: Viewer, today: date) -> ApproverView:
    username = viewer.user.username
    with viewer.books.session() as session:
        pending = session.scalars(
            select(ApprovalRow)
            .where(ApprovalRow.status == Status.PENDING.value)
            .order_by(ApprovalRow.submitted_at, ApprovalRow.id)
        ).all()
        decisions = session.scalars(
            select(DecisionRow)
            .where(DecisionRow.request_id.in_([r.id for r in pending]))
            .order_by(DecisionRow.level)
        ).all()
        mine = session.execute(
            select(DecisionRow, ApprovalRow)
            .join(ApprovalRow, ApprovalRow.id == DecisionRow.request_id)
            .where(DecisionRow.user == username)
            .order_by(DecisionRow.at.desc())
            .limit(RECENT)
        ).all()
        requests = [*pending, *(r for _, r in mine)]
        about = describe(viewer.books, session, [(r.subject, r.subject_id) for r in requests])
        people = people_names(session)
    given: dict[int, list[str]] = defaultdict(list)
    for decision in decisions:
        given[decision.request_id].append(people.get(decision.user, decision.user))
    waiting = [
        Waiting(
            request=r,
            what=f"{r.subject.replace('_', ' ')} {r.subject_id}",
            about=about.get((r.subject, r.subject_id), ""),
            prepared_by=people.get(r.prepared_by, r.prepared_by),
            days=(today - datetime.fromisoformat(r.submitted_at).date()).days,
            given=given[r.id],
            blocked=blocked(username, r, [d.user for d in decisions if d.request_id == r.id]),
        )
        for r in pending
    ]
    return ApproverView(
        mine=[w for w in waiting if not w.blocked],
        others=[w for w in waiting if w.blocked],
        decided=[(d, r, about.get((r.subject, r.subject_id), "")) for d, r in mine],
    )


def describe(books, session, subjects: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """What each (subject, id) is about, by name: a settlement's partner, program and period;
    a payout batch's method and settlements; a claim's partner and number; a dispute's
    partner, program and period."""
    programs = program_names(books, session)
    wanted: dict[str, set[int]] = defaultdict(set)
    for subject, subject_id in subjects:
        wanted[subject].add(subject_id)
    told: dict[tuple[str, int], str] = {}
    for subject, telling in DESCRIBED.items():
        if wanted.get(subject.value):
            found = telling(session, sorted(wanted[subject.value]), programs)
            told.update({(subject.value, i): text for i, text in found.items()})
    return told


def _by_period(table):
    """Settlements or disputes (rows of `table`) as partner · program · period, by name."""

    def telling(session, ids: list[int], programs: dict[str, str]) -> dict[int, str]:
        rows = session.scalars(select(table).where(table.id.in_(ids))).all()
        names = names_of(session, {r.partner_id for r in rows})
        return {
            r.id: f"{names.get(r.partner_id, r.partner_id)} · "
            f"{programs.get(r.program_id, r.program_id)} · {r.period}"
            for r in rows
        }

    return telling


def _batches(session, ids: list[int], programs: dict[str, str]) -> dict[int, str]:
    counts = dict(
        session.execute(
            select(PayoutItemRow.batch_id, func.count())
            .where(PayoutItemRow.batch_id.in_(ids))
            .group_by(PayoutItemRow.batch_id)
        )
        .tuples()
        .all()
    )
    rows = session.scalars(select(PayoutBatchRow).where(PayoutBatchRow.id.in_(ids))).all()
    return {
        r.id: f"{r.method.replace('_', ' ')} · {counts.get(r.id, 0)} settlement(s)" for r in rows
    }


def _claims(session, ids: list[int], programs: dict[str, str]) -> dict[int, str]:
    rows = session.scalars(select(ClaimRow).where(ClaimRow.id.in_(ids))).all()
    names = names_of(session, {r.partner_id for r in rows})
    return {
        r.id: f"{names.get(r.partner_id, r.partner_id)} · claim {r.number} · "
        f"{r.kind.replace('_', ' ')}"
        for r in rows
    }


DESCRIBED = {
    Subject.SETTLEMENT: _by_period(SettlementRow),
    Subject.PAYOUT_BATCH: _batches,
    Subject.CLAIM: _claims,
    Subject.DISPUTE: _by_period(DisputeRow),
}


@pages.read("/approvals", "approvals:decide", response_class=HTMLResponse)
def approvals(request: Request, viewer: Viewer):
    """What waits for the viewer's decision, oldest first, and what waits for others."""
    view = approver(viewer, viewer.books.clock().date())
    steps = Levels.parse(viewer.books.settings.approval_levels).steps
    return page(request, "approvals.html", user=viewer.user, view=view, steps=steps)

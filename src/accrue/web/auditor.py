"""The auditor's landing page: the audit trail read as sentences, searched by who, what, when
and which partner, with whether the chain holds; and a payout batch traced to its
settlements, each to its program version and (through /why) the lines that earned it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from sqlalchemy import String, cast, or_, select

from accrue.api.schemas import PathId
from accrue.api.security import line_store_turn
from accrue.domain.identifiers import MAX_RECORD_ID, record_id
from accrue.store.audit import verify_books
from accrue.store.tables import (
    ApprovalRow,
    AuditRow,
    ClaimRow,
    DecisionRow,
    DisputeRow,
    PartnerRow,
    PayoutBatchRow,
    PayoutItemRow,
    ProgramVersionRow,
    RepRow,
    SettlementRow,
)
from accrue.web.approver import describe
from accrue.web.pages import page, pages
from accrue.web.session import Missing, Viewer
from accrue.web.trail import VERBS, Names, readable
from accrue.web.views import names_of, people_names, program_names

SHOWN = 100  # entries a page lists; "older" pages on from the last one shown
Text = Annotated[str, Query(max_length=100)]
Day = Annotated[str, Query(max_length=10)]  # a date field the form may leave empty


@dataclass(frozen=True)
class Search:
    """What the auditor narrowed the trail to; empty fields narrow nothing."""

    who: str = ""
    action: str = ""
    entity: str = ""
    since: date | None = None
    until: date | None = None
    partner: str = ""
    before: int | None = None  # entries older than this one: the next page

    def older(self, seq: int) -> str:
        """The link to the entries before `seq`, narrowed the same way."""
        kept = {k: v for k, v in asdict(self).items() if v not in ("", None)}
        return "/audit?" + urlencode({**kept, "before": seq})

    def query(self, session):
        query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(SHOWN)
        if self.who:
            query = query.where(AuditRow.actor == self.who)
        if self.action:
            query = query.where(AuditRow.action == self.action)
        else:  # the records' checksums, written as a side effect of every change: on request
            query = query.where(AuditRow.action != "seal")
        if self.entity:
            query = query.where(AuditRow.entity == self.entity)
        if self.since:
            query = query.where(AuditRow.at >= self.since.isoformat())
        if self.until:
            query = query.where(AuditRow.at < f"{self.until.isoformat()}~")  # the whole day
        if self.partner:
            query = query.where(about_partner(session, self.partner))
        if self.before:
            query = query.where(AuditRow.seq < self.before)
        return query


def _day(text: str, name: str) -> date | None:
    """A date field of the search form: empty narrows nothing, anything but a date is refused
    like any other field the page cannot use."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problem = {"loc": ("query", name), "msg": "not a date", "type": "value_error"}
        raise RequestValidationError([problem]) from None


def about_partner(session, partner_id: str):
    """Entries about a partner: its settlements, claims and disputes (and the approvals of
    them), and any entry whose fields name it."""
    keys = {
        entity: select(cast(table.id, String)).where(table.partner_id == partner_id)
        for entity, table in (
            ("settlement", SettlementRow),
            ("claim", ClaimRow),
            ("dispute", DisputeRow),
        )
    }
    return or_(
        *((AuditRow.entity == entity) & AuditRow.key.in_(ids) for entity, ids in keys.items()),
        AuditRow.after.contains(f'"{partner_id}"'),
    )


def names_for(viewer: Viewer, session, entries: list[AuditRow]) -> Names:
    """Every name the entries may need, read once: every partner's and rep's (a few
    thousand rows at most), the programs', the people's, and what each numbered record
    the entries name is about."""
    numbered = [(e.entity, number) for e in entries if (number := record_id(e.key))]
    about = describe(viewer.books, session, numbered)
    settled = [i for entity, i in numbered if entity == "settlement"]
    currencies = session.execute(
        select(SettlementRow.id, SettlementRow.currency).where(SettlementRow.id.in_(settled))
    ).all()
    return Names(
        partners=dict(session.execute(select(PartnerRow.id, PartnerRow.name)).tuples().all()),
        reps=dict(session.execute(select(RepRow.id, RepRow.name)).tuples().all()),
        programs=program_names(viewer.books, session),
        people=people_names(session),
        subjects={(entity, str(key)): text for (entity, key), text in about.items()},
        currencies={("settlement", str(i)): currency for i, currency in currencies},
    )


@pages.read("/audit", "audit:read", response_class=HTMLResponse)
def audit(
    request: Request,
    viewer: Viewer,
    who: Text = "",
    action: Text = "",
    entity: Text = "",
    since: Day = "",
    until: Day = "",
    partner: Text = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID)] = None,
):
    """The audit trail, newest first, as sentences; narrowed by person, action, kind of
    record, dates and partner; and whether every seal still checks."""
    search = Search(
        who, action, entity, _day(since, "since"), _day(until, "until"), partner, before
    )
    with viewer.books.session() as session:
        entries = session.scalars(search.query(session)).all()
        names = names_for(viewer, session, entries)
        choices = {
            "who": sorted(set(session.scalars(select(AuditRow.actor).distinct()))),
            "action": sorted(set(session.scalars(select(AuditRow.action).distinct()))),
            "entity": sorted(set(session.scalars(select(AuditRow.entity).distinct()))),
            "partner": sorted(names.partners.items(), key=lambda pair: pair[1]),
        }
    older = search.older(entries[-1].seq) if len(entries) == SHOWN else None
    return page(
        request,
        "audit.html",
        user=viewer.user,
        entries=[readable(e, names) for e in entries],
        search=search,
        choices=choices,
        names=names,
        older=older,
        verbs=VERBS,
    )


@pages.read("/audit/verified", "audit:read", response_class=HTMLResponse)
def verified(request: Request, viewer: Viewer):
    """Whether the chain and every seal hold: seconds of reading on large books, so the trail
    page asks for it after it has shown (HTMX), and the answer is kept until the books
    change."""
    books = viewer.books
    with line_store_turn(request):  # the lines are checked against their seals too
        found = books.remembered(("audit-verified",), lambda: verify_books(books))
    return page(request, "_verified.html", verified=found)


@pages.read("/audit/payouts/{batch_id}", "payouts:read", response_class=HTMLResponse)
def payout_trace(request: Request, batch_id: PathId, viewer: Viewer):
    """A payout batch: who made and approved it, and each settlement it paid with the program
    version that computed it; each links to the lines that earned it."""
    with viewer.books.session() as session:
        batch = session.get(PayoutBatchRow, batch_id)
        if batch is None:
            raise Missing(f"no payout batch {batch_id}")
        paid = session.execute(
            select(PayoutItemRow, SettlementRow, ProgramVersionRow)
            .join(SettlementRow, SettlementRow.id == PayoutItemRow.settlement_id)
            .join(
                ProgramVersionRow,
                (ProgramVersionRow.program_id == SettlementRow.program_id)
                & (ProgramVersionRow.version == SettlementRow.version),
            )
            .where(PayoutItemRow.batch_id == batch_id)
            .order_by(SettlementRow.partner_id, SettlementRow.program_id)
        ).all()
        decisions = _decisions(session, batch_id)
        partners = names_of(session, {s.partner_id for _, s, _ in paid})
        programs = program_names(viewer.books, session)
        people = people_names(session)
    return page(
        request,
        "payout_trace.html",
        user=viewer.user,
        batch=batch,
        paid=paid,
        decisions=decisions,
        partners=partners,
        programs=programs,
        people=people,
    )


def _decisions(session, batch_id: int) -> list[tuple[ApprovalRow, DecisionRow | None]]:
    """Every approval request of the batch, with each decision taken on it."""
    return session.execute(
        select(ApprovalRow, DecisionRow)
        .outerjoin(DecisionRow, DecisionRow.request_id == ApprovalRow.id)
        .where(ApprovalRow.subject == "payout_batch", ApprovalRow.subject_id == batch_id)
        .order_by(ApprovalRow.id, DecisionRow.level)
    ).all()

"""Disputes in the browser: finance resolves each open one with its evidence beside it (the
settlement's trace, the standing, or the claim line's answer); a partner opens one by choosing
the statement line it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from accrue.api.schemas import PathId
from accrue.api.security import Context, line_store_turn
from accrue.app.claims import open_dispute, resolve_dispute
from accrue.domain.errors import NotFound, Refused
from accrue.domain.money import readable_money
from accrue.domain.numbers import read_decimal
from accrue.domain.periods import running
from accrue.domain.shipdebit import Reason
from accrue.engine.runner import Attribution
from accrue.store.disputes import OPEN, About
from accrue.store.tables import ClaimLineRow, ClaimRow, DisputeRow, SettlementRow, StandingRow
from accrue.store.trace import trace
from accrue.web.pages import back, page, pages
from accrue.web.session import Checked, Viewer
from accrue.web.views import names_of, program_names

LINES = 5  # the largest shares shown beside a settlement's dispute
OFFERED = 100  # the newest of each kind a person may choose from


@dataclass(frozen=True)
class Case:
    """An open dispute with what finance needs to answer it."""

    dispute: DisputeRow
    partner: str
    program: str
    evidence: list[tuple[str, str]]  # (what, value)
    lines: list[Attribution]  # a settlement's largest shares
    settlement: int | None  # for the full trace


def cases(context: Context) -> tuple[list[Case], list[DisputeRow]]:
    """Open disputes oldest first, each with its evidence; the latest others, newest first."""
    with context.books.session() as session:
        found = session.scalars(select(DisputeRow).order_by(DisputeRow.id)).all()
        names = names_of(session, {d.partner_id for d in found})
        programs = program_names(context.books, session)
        evidence = {d.id: _evidence(session, d) for d in found if d.status == OPEN}
    opened = [_case(context, d, names, programs, evidence[d.id]) for d in found if d.status == OPEN]
    return opened, [d for d in reversed(found) if d.status != OPEN][:50]


def _case(context, dispute: DisputeRow, names, programs, evidence) -> Case:
    settlement, lines = None, []
    if dispute.subject == About.SETTLEMENT:
        settlement = int(dispute.subject_key)
        found = trace(context.books, settlement)
        evidence = [
            *evidence,
            ("Recomputed from the lines", f"{found.recomputed} ({_reproduced(found)})"),
        ]
        lines = sorted(found.attributions, key=lambda a: -abs(a.share))[:LINES]
    return Case(
        dispute,
        names.get(dispute.partner_id, dispute.partner_id),
        programs.get(dispute.program_id, dispute.program_id),
        evidence,
        lines,
        settlement,
    )


def _reproduced(found) -> str:
    return "reproduces the settlement" if found.reproduced else "does NOT reproduce it"


def _evidence(session, dispute: DisputeRow) -> list[tuple[str, str]]:
    """What the books say about the disputed thing."""
    if dispute.subject == About.SETTLEMENT:
        row = session.get(SettlementRow, int(dispute.subject_key))
        return [("Settled", row.amount), ("Payout", row.payout), ("Paid", row.paid)]
    if dispute.subject == About.STANDING:
        row = session.get(StandingRow, tuple(dispute.subject_key.split("/")))
        detail = json.loads(row.detail)
        tier = detail.get("tier_name") or "no tier"
        return [("Measure", detail["measure"]), ("Tier", tier), ("Earned", row.amount)]
    line = session.get(ClaimLineRow, int(dispute.subject_key))
    reason = f"{line.reason} — {Reason(line.reason).text}" if line.reason else "none"
    return [
        ("Claimed", line.quantity),
        ("Answer", f"{line.outcome}, {line.approved_quantity} approved"),
        ("Amount", line.amount),
        ("Reason", reason),
    ]


def disputable(context: Context, today) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the viewer may dispute, as (group, [(value, text)]): settlements, claim lines and
    the standings running today, newest first, by name."""
    with context.books.session() as session:
        settled = session.scalars(
            context.visible(select(SettlementRow), SettlementRow.partner_id)
            .order_by(SettlementRow.id.desc())
            .limit(OFFERED)
        ).all()
        lines = session.execute(
            context.visible(select(ClaimLineRow, ClaimRow), ClaimRow.partner_id)
            .join(ClaimRow, ClaimRow.id == ClaimLineRow.claim_id)
            .order_by(ClaimLineRow.id.desc())
            .limit(OFFERED)
        ).all()
        standings = session.scalars(
            context.visible(select(StandingRow), StandingRow.partner_id)
            .where(StandingRow.period.in_(running(today)))
            .limit(OFFERED)
        ).all()
        programs = program_names(context.books, session)
        names = names_of(session, {r.partner_id for r in [*settled, *standings]})
    return [
        ("Settlements", [(f"settlement:{s.id}", _settled(s, programs, names)) for s in settled]),
        (
            "Claim lines",
            [(f"claim_line:{line.id}", _claimed(line, claim)) for line, claim in lines],
        ),
        (
            "Running periods",
            [(f"standing:{_key(s)}", _standing(s, programs, names)) for s in standings],
        ),
    ]


def _settled(s: SettlementRow, programs, names) -> str:
    return f"{_standing(s, programs, names)} · payout {readable_money(s.payout, s.currency)}"


def _claimed(line: ClaimLineRow, claim: ClaimRow) -> str:
    invoice = f"invoice {line.invoice}/{line.invoice_line}"
    return f"claim {claim.number} line {line.line_no} · {invoice} · {line.sku} · {line.outcome}"


def _standing(s: SettlementRow | StandingRow, programs, names) -> str:
    return f"{programs.get(s.program_id, s.program_id)} · {names.get(s.partner_id)} · {s.period}"


def _key(s: StandingRow) -> str:
    return f"{s.program_id}/{s.partner_id}/{s.period}"


@pages.read("/finance/disputes", "disputes:resolve", response_class=HTMLResponse)
def disputes(request: Request, viewer: Viewer):
    """The open disputes with their evidence and a form to answer each; the latest answered."""
    with line_store_turn(request):
        opened, answered = cases(viewer)
    return page(request, "disputes.html", user=viewer.user, cases=opened, answered=answered)


@pages.write("/finance/disputes/{dispute_id}", "disputes:resolve")
def answer(
    request: Request,
    dispute_id: PathId,
    viewer: Viewer,
    _: Checked,
    resolution: Annotated[str, Form(max_length=2000)] = "",
    adjustment: Annotated[str, Form(max_length=30)] = "",
) -> RedirectResponse:
    """Dismiss (no adjustment) or propose an adjustment, which goes for approval."""
    try:
        amount = _adjustment(adjustment)
        done = resolve_dispute(viewer.books, dispute_id, resolution, amount)
    except (Refused, NotFound) as refused:
        return back(request, "/finance/disputes", f"dispute {dispute_id}: {refused}")
    return back(request, "/finance/disputes", f"dispute {dispute_id}: {done.status}")


def _adjustment(typed: str) -> Decimal | None:
    """The amount typed, read as every number from outside is (no NaN, no 1E400), or none."""
    if not typed.strip():
        return None
    try:
        return read_decimal(typed)
    except Refused as refused:
        raise Refused(f"adjustment {typed.strip()!r} {refused}") from None


def _chosen(line: str) -> tuple[About, str]:
    """The form's `about:key` choice, or a refusal: the page offers no other kind."""
    about, _, key = line.partition(":")
    try:
        return About(about), key
    except ValueError:
        raise Refused(f"line: {about!r:.40} is not a kind of thing to dispute") from None


@pages.write("/claims/disputes", "disputes:open")
def dispute(
    request: Request,
    viewer: Viewer,
    _: Checked,
    line: Annotated[str, Form(min_length=3, max_length=220)],
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
) -> RedirectResponse:
    """A dispute about the chosen statement line, settlement or standing."""
    try:
        about, key = _chosen(line)
        opened = open_dispute(viewer.books, about, key, reason, visible=viewer.user.scope.sees)
    except (Refused, NotFound) as refused:
        return back(request, "/claims", str(refused))
    return back(request, "/claims", f"dispute {opened.id} opened: finance will answer it")

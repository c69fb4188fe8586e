"""Standings, recalculation, the ledger, period close and settlements."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from accrue.api.lists import Listed, Page, listing, paged, where_given
from accrue.api.schemas import (
    MAX_ID,
    BalanceOut,
    ClosedOut,
    CloseIn,
    LiabilityOut,
    PathId,
    PeriodOut,
    PostingOut,
    RecalcIn,
    RecalculatedOut,
    ReverseIn,
    SettlementOut,
    ShareOut,
    StandingOut,
    StandingStatus,
    TraceOut,
)
from accrue.api.security import Caller, Context, Routes
from accrue.app import books as use
from accrue.domain.approvals import Subject
from accrue.domain.errors import NotFound, Refused
from accrue.domain.money import money_text
from accrue.store import ledger
from accrue.store.approvals import latest
from accrue.store.tables import ClosedPeriod, SettlementRow, StandingRow
from accrue.store.trace import trace

routes = Routes(tags=["standings, ledger and settlements"])
DIMENSIONS = ("program_id", "partner_id", "period", "booked_period")


def today(context: Context, asked: date | None = None) -> date:
    return asked or context.books.clock().date()


@routes.read(
    "/standings",
    "standings:read",
    response_model=Page[StandingOut],
    sort=("program_id", "partner_id", "period", "status", "amount", "payout"),
)
def standings(
    context: Caller,
    paging: Listed,
    program_id: str | None = None,
    partner_id: str | None = None,
    period: str | None = None,
    status: StandingStatus | None = None,
):
    """Where every partner stands in every program and period: measure, tier, amount, the gap
    to the next tier and what reaching it would pay, and the projection to period end."""
    query = where_given(
        context.visible(select(StandingRow), StandingRow.partner_id),
        (StandingRow.program_id, program_id),
        (StandingRow.partner_id, partner_id),
        (StandingRow.period, period),
        (StandingRow.status, status),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            StandingRow,
            paging,
            lambda row: StandingOut.model_validate(json.loads(row.detail)),
            "standings",
        )


@routes.write("/recalc", "standings:write", response_model=RecalculatedOut)
def recalculate(context: Caller, asked: RecalcIn):
    """Recompute the standings that new data touched (or all), post their deltas, and tell
    partners close to their next tier (once per tier per period)."""
    return use.recalculate(context.books, today(context, asked.as_of), asked.full).recalculated


@routes.read("/ledger/trial-balance", "ledger:read", response_model=Page[BalanceOut])
def trial_balance(context: Caller, paging: Listed):
    """Debits and credits by account and currency; they agree in every currency."""
    with context.books.session() as session:
        balances = ledger.trial_balance(session)
    return paged([BalanceOut(**_texts(vars(b))) for b in balances], paging, "trial-balance")


@routes.read("/ledger/liability", "ledger:read", response_model=Page[LiabilityOut])
def liability(
    context: Caller,
    paging: Listed,
    by: Annotated[
        str, Query(description="comma-separated: " + ", ".join(DIMENSIONS), max_length=80)
    ] = "program_id",
):
    """Earned and not yet paid, right now."""
    dimensions = tuple(d.strip() for d in by.split(",") if d.strip())
    if not dimensions or set(dimensions) - set(DIMENSIONS):
        raise Refused(f"by: choose from {', '.join(DIMENSIONS)}")
    with context.books.session() as session:
        rows = ledger.liability(session, context.books.liability_accounts(session), dimensions)
    return paged([LiabilityOut(**_texts(r)) for r in rows], paging, "liability")


@routes.read("/ledger/journals", "ledger:read", response_model=Page[PostingOut])
def journals(
    context: Caller,
    paging: Listed,
    first: Annotated[int | None, Query(ge=1, le=MAX_ID, description="from journal id")] = None,
    last: Annotated[int | None, Query(ge=1, le=MAX_ID, description="to journal id")] = None,
):
    """Every posting, as exact text, in posting order (journals/export?format=csv for the ERP)."""
    with context.books.session() as session:
        rows = [PostingOut.of(r) for r in ledger.journal_rows(session, first, last)]
    return paged(rows, paging, "journals")


@routes.read("/periods", "ledger:read", response_model=Page[PeriodOut], sort=("closed_at", "label"))
def periods(context: Caller, paging: Listed):
    """The closed periods."""
    with context.books.session() as session:
        return listing(
            session,
            select(ClosedPeriod),
            ClosedPeriod,
            paging,
            PeriodOut.model_validate,
            "periods",
        )


@routes.write(
    "/periods/{label}/close", "periods:close", response_model=ClosedOut, operation_id="close_period"
)
def close(label: str, context: Caller, asked: CloseIn):
    """Settle the period's standings, carry forward, charge back, and lock it."""
    day = today(context, asked.as_of)
    closed = use.close_period(context.books, label, day, asked.force_reason)
    return ClosedOut(**_texts(vars(closed)))


@routes.read(
    "/settlements",
    "settlements:read",
    response_model=Page[SettlementOut],
    sort=("id", "program_id", "partner_id", "period", "payout"),
)
def settlements(
    context: Caller,
    paging: Listed,
    program_id: str | None = None,
    partner_id: str | None = None,
    period: str | None = None,
):
    query = where_given(
        context.visible(select(SettlementRow), SettlementRow.partner_id),
        (SettlementRow.program_id, program_id),
        (SettlementRow.partner_id, partner_id),
        (SettlementRow.period, period),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            SettlementRow,
            paging,
            lambda row: _settlement(session, row),
            "settlements",
        )


def _settlement(session, row: SettlementRow) -> SettlementOut:
    request = latest(session, Subject.SETTLEMENT, row.id)
    out = SettlementOut.model_validate(row)
    return out.model_copy(update={"approval": request.status if request else None})


def _visible_settlement(context: Context, session, settlement_id: PathId) -> SettlementRow:
    row = session.get(SettlementRow, settlement_id)
    if row is None or not context.user.scope.sees(row.partner_id):
        raise NotFound(f"no settlement {settlement_id}")
    return row


@routes.read(
    "/settlements/{settlement_id}",
    "settlements:read",
    response_model=SettlementOut,
    operation_id="get_settlement",
)
def settlement(settlement_id: PathId, context: Caller):
    with context.books.session() as session:
        return _settlement(session, _visible_settlement(context, session, settlement_id))


@routes.read(
    "/settlements/{settlement_id}/trace",
    "settlements:read",
    response_model=TraceOut,
    operation_id="trace_settlement",
)
def why(
    settlement_id: PathId,
    context: Caller,
    lines: Annotated[int, Query(ge=0, le=10_000, description="lines, largest shares first")] = 100,
):
    """Why this amount: the program version, the journals, and every line's share — recomputed
    from the lines as they stood at close, and whether that reproduces the amount."""
    with context.books.session() as session:
        row = _visible_settlement(context, session, settlement_id)
        out = _settlement(session, row)
    found = trace(context.books, settlement_id)
    shares = sorted(found.attributions, key=lambda a: -abs(a.share))[:lines]
    return TraceOut(
        settlement=out,
        program_version=found.program_ref,
        measure=found.standing.get("measure"),
        tier_name=found.standing.get("tier_name"),
        recomputed=money_text(found.recomputed, row.currency),
        reproduced=found.reproduced,
        journals=[PostingOut.of(j) for j in found.journals],
        lines=[ShareOut(**_texts(vars(a))) for a in shares],
    )


@routes.write("/journals/{journal_id}/reverse", "payouts:write", response_model=list[PostingOut])
def reverse_payout(journal_id: PathId, context: Caller, asked: ReverseIn):
    """Reverse a payout (voided check, returned transfer): the reversing journal's postings;
    the reason stays in the audit trail."""
    reversal = use.reverse(context.books, journal_id, asked.reason, today(context, asked.as_of))
    with context.books.session() as session:
        return [PostingOut.of(r) for r in ledger.journal_rows(session, reversal, reversal)]


def _texts(values: dict) -> dict:
    """Decimals as the exact text the schemas carry: a Decimal never passes through a float."""
    return {
        key: _texts(value)
        if isinstance(value, dict)
        else str(value)
        if isinstance(value, Decimal)
        else value
        for key, value in values.items()
    }

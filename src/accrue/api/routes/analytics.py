"""Design analytics for staff: calibration and simulation of drafts, forecasts, lift and the
money left unclaimed. Every list also comes as CSV or Excel (its `/export?format=`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field, StringConstraints

from accrue.analytics.calibration import calibrate_program
from accrue.analytics.forecasts import forecasts, projected_liability
from accrue.analytics.lift import lift
from accrue.analytics.simulation import simulate
from accrue.analytics.unclaimed import unclaimed
from accrue.api.lists import Listed, Page, paged
from accrue.api.routes.catalog import PROGRAM_BODY, ProgramText
from accrue.api.security import Caller, Routes
from accrue.domain.program import parse_program

routes = Routes(tags=["analytics"])
PERIOD = Query(max_length=10, description="a period label: 2026, 2026-H1, 2026-Q2 or 2026-05")
BY = Query(max_length=64, description="segment, region, or a partner attribute")


class CalibrationOut(BaseModel):
    segment: str
    partners: int
    p10: str
    p25: str
    median: str
    p75: str
    p90: str
    lift: str
    threshold: str
    qualifying: int
    qualifying_share: str
    cost: str
    currency: str


class SimulationOut(BaseModel):
    draft: str
    segment: str = "all"
    partners: int
    qualifying: int
    cost: str
    revenue: str
    cost_share: str | None
    cost_per_qualifying_partner: str | None


class SimulateIn(BaseModel):
    drafts: list[Annotated[str, StringConstraints(max_length=100_000)]] = Field(
        min_length=1, max_length=4, description="draft programs, as YAML texts"
    )
    period: str = Field(max_length=10, description="a past period, e.g. 2026-Q2")
    by: str = Field("segment", max_length=64, description="segment, region or an attribute")


class ForecastOut(BaseModel):
    program_id: str
    partner_id: str
    period: str
    currency: str
    earned: str
    run_rate_tier: int
    run_rate_amount: str
    seasonal_tier: int | None
    seasonal_amount: str | None


class LiabilityForecastOut(BaseModel):
    program_id: str
    period: str
    currency: str
    earned: str
    run_rate: str
    seasonal: str


class EffectOut(BaseModel):
    metric: str
    treated_change: str
    control_change: str
    estimate: str
    low: str
    high: str
    relative: str | None
    relative_low: str | None
    relative_high: str | None


class MatchOut(BaseModel):
    treated: str
    control: str | None
    distance: str | None


class LiftOut(BaseModel):
    matched: int
    unmatched: int
    balance: str | None
    incremental_revenue: str
    rebate_cost: str
    currency: str
    roi: str | None
    effects: list[EffectOut]
    matches: list[MatchOut]
    warnings: list[str]


class UnclaimedOut(BaseModel):
    kind: str
    program_id: str
    partner_id: str
    currency: str
    unclaimed: str
    claimed: str
    share: str | None
    days_left: int | None
    note: str


def _text(value) -> str | None:
    return None if value is None else str(value)


@routes.write(
    "/analytics/calibrate",
    "analytics:read",
    response_model=Page[CalibrationOut],
    openapi_extra=PROGRAM_BODY,
    operation_id="calibrate_program",
)
def calibrate(
    context: Caller,
    document: ProgramText,
    paging: Listed,
    baseline: Annotated[str, PERIOD],
    by: Annotated[str, BY] = "segment",
):
    """A draft program's measure per segment in a baseline period, and thresholds 15/20/25%
    above each segment's median: who would qualify as things are, and at what cost."""
    found = calibrate_program(context.books, parse_program(document, "draft"), baseline, by)
    rows = [
        CalibrationOut(
            segment=c.segment,
            partners=c.partners,
            **{
                n: str(c.percentiles[p])
                for n, p in (("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90))
            },
            lift=str(s.lift),
            threshold=str(s.threshold),
            qualifying=s.qualifying,
            qualifying_share=str(s.qualifying_share),
            cost=str(s.cost),
            currency=c.currency,
        )
        for c in found
        for s in c.suggestions
    ]
    return paged(rows, paging, "calibration", CalibrationOut)


@routes.write("/analytics/simulate", "analytics:read", response_model=Page[SimulationOut])
def simulate_drafts(context: Caller, asked: SimulateIn, paging: Listed):
    """Drafts over a past period's real lines, side by side, in total and by segment."""
    drafts = [parse_program(text, f"draft {n}") for n, text in enumerate(asked.drafts, 1)]
    rows = [
        SimulationOut(
            draft=s.program,
            segment=segment,
            partners=t.partners,
            qualifying=t.qualifying,
            cost=str(t.cost),
            revenue=str(t.revenue),
            cost_share=_text(t.cost_share),
            cost_per_qualifying_partner=_text(t.cost_per_partner),
        )
        for s in simulate(context.books, drafts, asked.period, asked.by)
        for segment, t in [("all", s.total), *sorted(s.segments.items())]
    ]
    return paged(rows, paging, "simulation", SimulationOut)


@routes.read(
    "/analytics/forecast",
    "analytics:read",
    response_model=Page[ForecastOut],
    operation_id="forecasts",
)
def forecast(context: Caller, paging: Listed, as_of: date | None = None):
    """Every open standing projected to its period's end, at the run rate and seasonally."""
    rows = [
        ForecastOut(
            program_id=f.program_id,
            partner_id=f.partner_id,
            period=f.period,
            currency=f.currency,
            earned=str(f.amount),
            run_rate_tier=f.run_rate.tier,
            run_rate_amount=str(f.run_rate.amount),
            seasonal_tier=f.seasonal.tier if f.seasonal else None,
            seasonal_amount=_text(f.seasonal.amount if f.seasonal else None),
        )
        for f in forecasts(context.books, as_of or context.books.clock().date())
    ]
    return paged(rows, paging, "forecast", ForecastOut)


@routes.read("/analytics/liability", "analytics:read", response_model=Page[LiabilityForecastOut])
def liability_forecast(context: Caller, paging: Listed, as_of: date | None = None):
    """Finance's projected liability by program at period end."""
    found = forecasts(context.books, as_of or context.books.clock().date())
    rows = [
        LiabilityForecastOut(**{k: str(v) for k, v in r.items()})
        for r in projected_liability(found)
    ]
    return paged(rows, paging, "projected-liability", LiabilityForecastOut)


@routes.read("/analytics/lift/{program_id}", "analytics:read", response_model=LiftOut)
def program_lift(
    program_id: str,
    context: Caller,
    baseline: Annotated[str, PERIOD],
    after: Annotated[str, PERIOD],
):
    """Enrolled against matched non-enrolled partners: the lift with its interval, the ROI, the
    matching, and what makes the estimate weak."""
    report = lift(context.books, program_id, baseline, after)
    return LiftOut(
        matched=report.matched,
        unmatched=report.unmatched,
        balance=_text(report.balance),
        incremental_revenue=str(report.incremental_revenue),
        rebate_cost=str(report.rebate_cost),
        currency=report.currency,
        roi=_text(report.roi),
        effects=[
            EffectOut(**{k: _text(v) if k != "metric" else v for k, v in vars(e).items()})
            for e in report.effects.values()
        ],
        matches=[
            MatchOut(treated=m.treated, control=m.control, distance=_text(m.distance))
            for m in report.matches
        ],
        warnings=report.warnings,
    )


@routes.read("/analytics/unclaimed", "analytics:read", response_model=Page[UnclaimedOut])
def unclaimed_money(context: Caller, paging: Listed, as_of: date | None = None):
    """Funds and ship-and-debit money partners could still claim, with the days left."""
    rows = [
        UnclaimedOut(
            kind=u.kind,
            program_id=u.program_id,
            partner_id=u.partner_id,
            currency=u.currency,
            unclaimed=str(u.unclaimed),
            claimed=str(u.claimed),
            share=_text(u.share),
            days_left=u.days_left,
            note=u.note,
        )
        for u in unclaimed(context.books, as_of or context.books.clock().date())
    ]
    return paged(rows, paging, "unclaimed", UnclaimedOut)

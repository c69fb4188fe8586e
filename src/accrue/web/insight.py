"""The analytics page for staff: calibration with the thresholds marked on the distribution,
two programs simulated side by side, the projected liability, lift with its intervals and the
matching, and the money left unclaimed — the same services as `accrue analyze`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from accrue.analytics.calibration import calibrate_program
from accrue.analytics.forecasts import forecasts, projected_liability
from accrue.analytics.lift import lift
from accrue.analytics.simulation import simulate
from accrue.analytics.unclaimed import unclaimed
from accrue.api.security import line_store_turn
from accrue.domain.errors import NotFound, Refused
from accrue.domain.program import Program
from accrue.store.tables import ProgramVersionRow
from accrue.web.pages import page, pages
from accrue.web.session import Viewer

Label = Annotated[str, Query(max_length=10, pattern=r"^(\d{4}(-(Q[1-4]|H[12]|\d{2}))?)?$")]
Name = Annotated[str, Query(max_length=64)]


def _programs(viewer: Viewer) -> dict[str, Program]:
    with viewer.books.session() as session:
        rows = session.scalars(select(ProgramVersionRow).order_by(ProgramVersionRow.version)).all()
    return {row.program_id: Program.model_validate_json(row.document) for row in rows}


@pages.read("/analytics", "analytics:read", response_class=HTMLResponse)
def analytics(
    request: Request,
    viewer: Viewer,
    program: Name = "",
    other: Name = "",
    baseline: Label = "",
    period: Label = "",
    after: Label = "",
    by: Annotated[str, Query(max_length=64)] = "segment",
    forecast: bool = False,
):
    programs = _programs(viewer)
    chosen, compared = programs.get(program), programs.get(other)
    today = viewer.books.clock().date()
    shown: dict = {
        "programs": sorted(programs),
        "program": program,
        "other": other,
        "baseline": baseline,
        "period": period,
        "after": after,
        "by": by,
        "forecast": forecast,
    }
    with line_store_turn(request):
        try:
            if chosen and baseline:
                shown["calibration"] = calibrate_program(viewer.books, chosen, baseline, by)
            if chosen and period:
                drafts = [chosen, *([compared] if compared and compared.id != chosen.id else [])]
                shown["simulations"] = simulate(viewer.books, drafts, period, by)
            if chosen and baseline and after:
                shown["lift"] = lift(viewer.books, chosen.id, baseline, after, reps=500)
        except (Refused, NotFound) as refused:
            shown["problem"] = str(refused)
        if forecast:  # every open standing projected: seconds on a large book, so on request
            shown["liability"] = projected_liability(forecasts(viewer.books, today))
        shown["unclaimed"] = unclaimed(viewer.books, today)
    shown["charts"] = _charts(shown)
    return page(request, "analytics.html", user=viewer.user, **shown)


def _charts(shown: dict) -> dict:
    """What Chart.js draws: each segment's distribution with the thresholds marked, the
    simulated cost by segment, and each lift estimate with its interval."""
    charts = {}
    if "calibration" in shown:
        charts["calibration"] = [
            {
                "segment": c.segment,
                "percentiles": {str(k): float(v) for k, v in c.percentiles.items()},
                "thresholds": [[f"+{s.lift:.0%}", float(s.threshold)] for s in c.suggestions],
            }
            for c in shown["calibration"]
        ]
    if "simulations" in shown:
        segments = sorted({seg for s in shown["simulations"] for seg in s.segments})
        charts["simulation"] = {
            "segments": segments,
            "drafts": [
                {
                    "name": s.program,
                    "costs": [
                        float(s.segments[g].cost) if g in s.segments else 0 for g in segments
                    ],
                }
                for s in shown["simulations"]
            ],
        }
    if "lift" in shown:
        charts["lift"] = [
            {
                "metric": e.metric,
                "estimate": float(e.relative) if e.relative is not None else None,
                "interval": [float(e.relative_low), float(e.relative_high)]
                if e.relative_low is not None
                else None,
            }
            for e in shown["lift"].effects.values()
        ]
    return charts

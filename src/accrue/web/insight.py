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
from accrue.web.formats import metric
from accrue.web.pages import page, pages
from accrue.web.session import Viewer
from accrue.web.views import names_of, program_names

SHOWN = 100  # unclaimed amounts listed, largest first
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
    books = viewer.books

    def kept(*key, compute):
        """Worked out once per version of the books and question: the next look is instant."""
        return books.remembered(("analytics", *key), compute)

    with line_store_turn(request):
        try:
            if chosen and baseline:
                shown["calibration"] = kept(
                    "calibrate",
                    program,
                    baseline,
                    by,
                    compute=lambda: calibrate_program(books, chosen, baseline, by),
                )
            if chosen and period:
                drafts = [chosen, *([compared] if compared and compared.id != chosen.id else [])]
                shown["simulations"] = kept(
                    "simulate",
                    *(d.id for d in drafts),
                    period,
                    by,
                    compute=lambda: simulate(books, drafts, period, by),
                )
            if chosen and baseline and after:
                shown["lift"] = kept(
                    "lift",
                    program,
                    baseline,
                    after,
                    compute=lambda: lift(books, chosen.id, baseline, after, reps=500),
                )
        except (Refused, NotFound) as refused:
            shown["problem"] = str(refused)
        if forecast:  # every open standing projected: seconds on a large book, so on request
            shown["liability"] = kept(
                "liability",
                today,
                compute=lambda: projected_liability(forecasts(books, today)),
            )
        shown["unclaimed"] = kept("unclaimed", today, compute=lambda: unclaimed(books, today))
    with books.session() as session:
        shown["names"] = {**names_of(session, _partners(shown)), **program_names(books, session)}
    shown["charts"] = _charts(shown, shown["names"])
    return page(request, "analytics.html", user=viewer.user, **shown)


def _partners(shown: dict) -> set[str]:
    """The partners the page names: those with money unclaimed, and the lift's matching."""
    found = {u.partner_id for u in shown["unclaimed"][:SHOWN]}
    if "lift" in shown:
        found |= {m.treated for m in shown["lift"].matches}
        found |= {m.control for m in shown["lift"].matches if m.control}
    return found


def _charts(shown: dict, names: dict[str, str]) -> dict:
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
                    "name": names.get(s.program, s.program),
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
                "metric": metric(e.metric),
                "estimate": float(e.relative * 100) if e.relative is not None else None,
                "interval": [float(e.relative_low * 100), float(e.relative_high * 100)]
                if e.relative_low is not None
                else None,
            }
            for e in shown["lift"].effects.values()
        ]
    return charts

"""The analytics page for staff: calibration with the thresholds marked on the distribution,
two programs simulated side by side, the projected liability, lift with its intervals and the
matching, and the money left unclaimed — the same services as `accrue analyze`, worked out by
a background job (see accrue.app.insight) while the page shows its progress."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from accrue.api.schemas import PathId
from accrue.api.security import line_store_turn
from accrue.app.insight import Problem, Question, answer
from accrue.app.jobs import analysis
from accrue.domain.errors import NotFound
from accrue.domain.program import Program
from accrue.store import jobs
from accrue.store.books import Books
from accrue.store.tables import JobRow, ProgramVersionRow
from accrue.web.formats import metric
from accrue.web.pages import page, pages
from accrue.web.session import Missing, Viewer
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
    """The answer kept for the current books at once, or the background job working it out
    (its progress polled, the page reloaded when it is done)."""
    books = viewer.books
    today = books.clock().date()
    question = Question(today, program, other, baseline, period, after, by, forecast)
    shown: dict = {**asdict(question), "programs": sorted(_programs(viewer))}
    found = analysis(books, question, lambda: _worked_out_here(request, books, question))
    if isinstance(found, JobRow):
        shown["job"] = found
    else:
        shown.update(_shown(found))
    with books.session() as session:
        shown["names"] = {**names_of(session, _partners(shown)), **program_names(books, session)}
    shown["charts"] = _charts(shown, shown["names"])
    return page(request, "analytics.html", user=viewer.user, **shown)


@pages.read("/analytics/jobs/{analysis_id}", "analytics:read", response_class=HTMLResponse)
def analysis_status(request: Request, analysis_id: PathId, viewer: Viewer):
    """The analysis job's progress, as the page polls it; once it is done, HTMX reloads the
    page, which then shows the answer."""
    try:
        job = jobs.get(viewer.books, analysis_id)
    except NotFound:
        job = None
    if job is None or job.kind != "analytics":  # other jobs are for those who may see jobs
        raise Missing(f"no analysis {analysis_id}")
    answer = page(request, "_analysis.html", job=job)
    if job.status == jobs.DONE:
        answer.headers["HX-Refresh"] = "true"
    return answer


def _worked_out_here(request: Request, books: Books, question: Question) -> dict:
    """Worked out in this request, holding the line store's turn as a job would."""
    with line_store_turn(request):
        return answer(books, question, lambda done, total, doing: None)


def _shown(found: dict) -> dict:
    """The answers the page shows, and the first step the books refused as its problem."""
    problems = [value.message for value in found.values() if isinstance(value, Problem)]
    shown = {name: value for name, value in found.items() if not isinstance(value, Problem)}
    return {**shown, **({"problem": problems[0]} if problems else {})}


def _partners(shown: dict) -> set[str]:
    """The partners the page names: those with money unclaimed, and the lift's matching."""
    found = {u.partner_id for u in shown.get("unclaimed", [])[:SHOWN]}
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

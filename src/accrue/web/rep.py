"""The sales rep's page: their level and place on the leaderboard, then their distributors'
programs ranked by the value within reach (what reaching the next tier adds per unit still to
go), with a filter, a search and a CSV export."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from accrue.api.security import Context
from accrue.domain.recognition import Level, Levels
from accrue.export.cells import csv_text
from accrue.store.tables import RepRow, StandingRow
from accrue.web import views
from accrue.web.formats import worth
from accrue.web.pages import download, page, pages, saved_as
from accrue.web.session import Viewer
from accrue.web.views import Card

SHOWN = 100  # rows on the page; the export has every row the filter keeps
BOARD = 5  # reps named on the leaderboard
Search = Annotated[str, Query(max_length=100)]


@dataclass(frozen=True)
class Standing:
    """The rep's level this year and place among every rep."""

    level: Level | None
    place: int | None
    reps: int
    board: list[tuple[int, str, int]]  # (place, name, points) of the leaders


def standing(context: Context, today: date) -> Standing:
    """Each rep's points this year through their assigned distributors, ranked."""
    totals, names = context.books.remembered(("reps", today.year), lambda: _points(context, today))
    ranked = sorted(totals, key=lambda r: (-totals[r], names[r]))
    mine = context.user.rep_id
    board = [(n, names[r], totals[r]) for n, r in enumerate(ranked[:BOARD], 1)]
    if mine not in totals:
        return Standing(None, None, len(ranked), board)
    levels = Levels.parse(context.books.settings.rep_levels)
    return Standing(levels.level(totals[mine]), ranked.index(mine) + 1, len(ranked), board)


def _points(context: Context, today: date) -> tuple[dict[str, int], dict[str, str]]:
    """Each rep's points this year, and their names, by rep id."""
    with context.books.session() as session:
        reps = session.scalars(select(RepRow)).all()
        this_year = StandingRow.period.startswith(str(today.year))  # labels begin with it
        earned: dict[str, int] = defaultdict(
            int,
            session.execute(
                select(StandingRow.partner_id, func.sum(StandingRow.points))
                .where(this_year, StandingRow.points != 0)
                .group_by(StandingRow.partner_id)
            ).all(),
        )
    totals = {r.id: sum(earned[p] for p in json.loads(r.partner_ids)) for r in reps}
    return totals, {r.id: r.name for r in reps}


def accounts(found: list[Card], search: str, program: str, near: bool) -> list[Card]:
    """The cards the filter keeps, in their order (the most value within reach first)."""
    words = search.casefold().split()
    return [
        c
        for c in found
        if all(w in f"{c.partner_name} {c.program_name}".casefold() for w in words)
        and (not program or c.program_name == program)
        and (not near or c.gain)
    ]


def accounts_csv(kept: list[Card]) -> str:
    columns = ["distributor", "program", "period", "tier", "to_next_tier", "reaching_it_pays"]
    rows = [
        [
            c.partner_name,
            c.program_name,
            c.period,
            c.tier_name or "",
            c.gap_text or "top tier",
            worth(c, c.next_pays) if c.next_pays else "",
        ]
        for c in kept
    ]
    return csv_text(columns, rows)


@pages.read("/rep", "standings:read", response_class=HTMLResponse)
def rep(
    request: Request,
    viewer: Viewer,
    q: Search = "",
    program: Search = "",
    near: bool = False,
):
    """Where the rep stands, then the accounts with the most within reach first."""
    today = viewer.books.clock().date()
    found = views.cards(viewer, today)
    kept = accounts(found, q, program, near)
    return page(
        request,
        "rep.html",
        user=viewer.user,
        standing=standing(viewer, today),
        cards=kept[:SHOWN],
        kept=len(kept),
        shown=SHOWN,
        programs=sorted({c.program_name for c in found}),
        alerts=views.alerts(viewer, today),
        points=views.rep_points(viewer, today),
    )


@pages.read("/rep/accounts.csv", "standings:read", **saved_as("text/csv"))
def rep_csv(viewer: Viewer, q: Search = "", program: Search = "", near: bool = False):
    """The accounts the filter keeps, as CSV."""
    kept = accounts(views.cards(viewer, viewer.books.clock().date()), q, program, near)
    return download(accounts_csv(kept), "text/csv", "accounts.csv")

"""Program pages partners can read: for every program they take part in, the plain-language
page and the worked example the engine computes, also as a PDF to print or file."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from accrue.api.security import Context
from accrue.domain.program import Program
from accrue.explain import summary, worked_example
from accrue.export.programs import render_program
from accrue.store.tables import StandingRow
from accrue.web.pages import download, page, pages, saved_as
from accrue.web.session import Missing, Viewer


def taken_part(context: Context) -> list[Program]:
    """The newest version of every program the viewer's partners have a standing in (every
    program, for staff), as their scope may see it, by name."""
    scope = context.user.scope
    with context.books.session() as session:
        latest = context.books.latest_programs(session)
        if scope.partners is None:
            ids = set(latest)
        else:
            query = select(StandingRow.program_id).distinct()
            ids = set(session.scalars(context.visible(query, StandingRow.partner_id)))
    shown = [scope.program(latest[key]) for key in ids if key in latest]
    return sorted((p for p in shown if p), key=lambda p: p.name)


def _one(context: Context, program_id: str) -> Program:
    found = next((p for p in taken_part(context) if p.id == program_id), None)
    if found is None:
        raise Missing(f"no program {program_id}")
    return found


@pages.read("/rules", "programs:read", response_class=HTMLResponse)
def rules(request: Request, viewer: Viewer):
    """The programs the partner takes part in, each linking to its page."""
    return page(request, "rules.html", user=viewer.user, programs=taken_part(viewer))


@pages.read("/rules/{program_id}.pdf", "programs:read", **saved_as("application/pdf"))
def rule_pdf(program_id: str, viewer: Viewer):
    """A program's page as a PDF."""
    program = _one(viewer, program_id)
    content = render_program(program.name, summary(program), worked_example(program))
    return download(content, "application/pdf", f"program-{program.id}.pdf")


@pages.read("/rules/{program_id}", "programs:read", response_class=HTMLResponse)
def rule(request: Request, program_id: str, viewer: Viewer):
    """One program in plain language, with the worked example."""
    program = _one(viewer, program_id)
    shown = {"program": program, "summary": summary(program), "example": worked_example(program)}
    return page(request, "rule.html", user=viewer.user, **shown)

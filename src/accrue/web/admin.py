"""The admin's pages: programs edited with live validation and the plain-language preview,
master data files, line uploads with the per-row error report and the file to correct, users."""

from __future__ import annotations

import json
from typing import Annotated

import yaml
from fastapi import Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from accrue.api.schemas import PathId
from accrue.api.security import line_store_turn
from accrue.api.uploads import received
from accrue.app.books import import_lines, import_master, import_programs
from accrue.app.jobs import import_lines_later
from accrue.domain.errors import NotFound, Refused
from accrue.domain.program import ProgramError, parse_program
from accrue.explain import summary, worked_example
from accrue.ingest.errors import InputError
from accrue.store.ingest import correction_csv
from accrue.store.master import KINDS, batch_summary
from accrue.store.programs import VersionError
from accrue.store.tables import (
    ProgramSourceRow,
    ProgramVersionRow,
    RejectedRow,
    SettlementRow,
    UserRow,
)
from accrue.store.trace import trace
from accrue.web.pages import back, download, page, pages, saved_as
from accrue.web.session import Checked, Missing, Viewer
from accrue.web.views import names_of, program_names

Document = Annotated[str, Form(max_length=100_000)]


def _programs(viewer: Viewer) -> list[ProgramVersionRow]:
    with viewer.books.session() as session:
        rows = session.scalars(select(ProgramVersionRow).order_by(ProgramVersionRow.version)).all()
    return list({row.program_id: row for row in rows}.values())


@pages.read("/admin/programs", "programs:write", response_class=HTMLResponse)
def programs(
    request: Request, viewer: Viewer, edit: Annotated[str | None, Query(max_length=64)] = None
):
    """The programs, and one of them (or a new one) in the editor."""
    rows = _programs(viewer)
    chosen = next((r for r in rows if r.program_id == edit), None)
    text = _written(viewer, chosen) if chosen else ""
    return page(
        request, "programs.html", user=viewer.user, programs=rows, text=text, check=_check(text)
    )


def _written(viewer: Viewer, row: ProgramVersionRow) -> str:
    """The version as its author wrote it; a version imported before the books kept sources
    is shown as YAML of its stored document."""
    with viewer.books.session() as session:
        kept = session.get(ProgramSourceRow, (row.program_id, row.version))
    if kept is not None:
        return kept.source
    return yaml.safe_dump(json.loads(row.document), sort_keys=False, allow_unicode=True)


def _check(text: str) -> dict:
    """Problems with their fields, or the plain-language page and a worked example."""
    if not text.strip():
        return {"empty": True}
    try:
        program = parse_program(text, "program")
    except ProgramError as error:
        return {
            "problems": [
                (path or "(document)", message, hint) for path, message, hint in error.problems
            ]
        }
    try:
        example = [f"{s.label}: {s.result}" for s in worked_example(program)]
    except (Refused, NotFound) as refused:  # the preview must not hide the summary
        example = [f"no worked example: {refused}"]
    return {"summary": summary(program), "example": example}


@pages.write("/admin/programs/check", "programs:write", response_class=HTMLResponse)
def check(request: Request, viewer: Viewer, _: Checked, document: Document = ""):
    """What the editor shows as one types (HTMX): the problems, or the preview."""
    return page(request, "_program_check.html", check=_check(document))


@pages.write("/admin/programs", "programs:write")
def save(request: Request, viewer: Viewer, _: Checked, document: Document):
    try:
        with line_store_turn(request):
            program = parse_program(document, "program")
            done = import_programs(
                viewer.books, [program], viewer.books.clock().date(), sources=[document]
            )
    except (ProgramError, VersionError) as refused:
        return back(request, "/admin/programs", f"not saved: {refused}")
    imported = done.received[0]
    return back(
        request, f"/admin/programs?edit={imported.program.id}", f"saved: {imported.summary}"
    )


@pages.read("/admin/master", "master:write", response_class=HTMLResponse)
def master_data(request: Request, viewer: Viewer):
    return page(request, "master.html", user=viewer.user, kinds=list(KINDS))


@pages.write("/admin/master", "master:write")
def import_master_data(
    request: Request,
    viewer: Viewer,
    _: Checked,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=16)],
):
    """Partners, products, reps or FX rates, imported as the command line and the API import
    them: a change recalculates everything at once."""
    try:
        with line_store_turn(request), received(viewer.books, file) as sent:
            day = viewer.books.clock().date()
            done = import_master(viewer.books, kind, sent.path, day, sent.name)
    except Refused as refused:
        return back(request, "/admin/master", f"not imported: {refused}")
    return back(
        request, "/admin/master", f"{batch_summary(done.received[0])}; {done.refreshed.summary}"
    )


@pages.read("/admin/uploads", "lines:write", response_class=HTMLResponse)
def uploads(request: Request, viewer: Viewer):
    return page(request, "uploads.html", user=viewer.user, received=None, rejected=[])


@pages.write("/admin/uploads", "lines:write", response_class=HTMLResponse)
def upload(
    request: Request,
    viewer: Viewer,
    _: Checked,
    file: UploadFile,
    background: Annotated[bool, Form()] = False,
):
    """A lines file: bad rows are listed with row, field, value and reason and kept to correct;
    or, in the background, kept now and imported by a job whose progress shows on /jobs."""
    if background:
        with received(viewer.books, file) as sent:
            job = import_lines_later(viewer.books, sent, viewer.books.clock().date())
        return back(request, "/jobs", f"job {job.id}: {sent.name} queued for import")
    try:
        with line_store_turn(request):
            with received(viewer.books, file) as sent:
                files = [(sent.path, sent.name)]
                taken = import_lines(viewer.books, files, viewer.books.clock().date())
            taken = taken.received[0]
    except InputError as refused:
        return page(
            request,
            "uploads.html",
            422,
            user=viewer.user,
            received=None,
            rejected=[],
            error=str(refused),
        )
    with viewer.books.session() as session:
        rejected = session.scalars(
            select(RejectedRow)
            .where(RejectedRow.batch_id == taken.batch.id)
            .order_by(RejectedRow.row_no)
        ).all()
    return page(request, "uploads.html", user=viewer.user, received=taken, rejected=rejected)


@pages.read("/admin/batches/{batch_id}/correct.csv", "batches:read", **saved_as("text/csv"))
def correction(batch_id: PathId, viewer: Viewer):
    """The rejected rows of a batch, with what is wrong, to fix and upload again."""
    text, _ = correction_csv(viewer.books, batch_id)
    return download(text, "text/csv", f"batch-{batch_id}-to-correct.csv")


@pages.read("/admin/users", "users:read", response_class=HTMLResponse)
def users(request: Request, viewer: Viewer):
    with viewer.books.session() as session:
        found = session.scalars(select(UserRow).order_by(UserRow.username)).all()
    return page(request, "users.html", user=viewer.user, users=found)


@pages.read("/why/{settlement_id}", "settlements:read", response_class=HTMLResponse)
def why(request: Request, settlement_id: PathId, viewer: Viewer):
    """Why this amount: the program version, the journals, and every line's share, recomputed
    from the lines as they stood at close."""
    with viewer.books.session() as session:
        row = session.get(SettlementRow, settlement_id)
        if row is None or not viewer.user.scope.sees(row.partner_id):
            raise Missing(f"no settlement {settlement_id}")
        partner = names_of(session, {row.partner_id}).get(row.partner_id, row.partner_id)
        program = program_names(viewer.books, session).get(row.program_id, row.program_id)
    with line_store_turn(request):
        found = trace(viewer.books, settlement_id)
    shares = sorted(found.attributions, key=lambda a: -abs(a.share))[:200]
    named = {"partner": partner, "program": program}
    return page(request, "why.html", user=viewer.user, found=found, shares=shares, **named)

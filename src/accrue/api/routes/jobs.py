"""Background jobs: recalculation, imports, close, simulations and statement runs queued to
run on the server's worker, and their status and progress while they run (GET /jobs/{id})."""

from __future__ import annotations

import json

from fastapi import Response, UploadFile
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from accrue.api.lists import Listed, Page, files, listing, where_given
from accrue.api.routes.analytics import SimulateIn
from accrue.api.routes.books import today
from accrue.api.schemas import CloseIn, Out, PathId, RecalcIn
from accrue.api.security import Caller, Context, Routes
from accrue.api.uploads import received
from accrue.app import jobs as use
from accrue.app.statements import issued
from accrue.domain.program import parse_program
from accrue.store import jobs
from accrue.store.tables import JobRow

routes = Routes(tags=["background jobs"])


class JobOut(Out):
    """A job: queued, running (`done` of `total` steps, `doing` now), done with its
    `result`, or failed with its `error`."""

    id: int
    kind: str
    status: str
    requested_by: str
    worker: str
    attempts: int
    done: int
    total: int
    doing: str
    result: dict | None
    error: str
    created_at: str
    started_at: str | None
    finished_at: str | None

    @field_validator("result", mode="before")
    @classmethod
    def _parsed(cls, value):
        return json.loads(value) if isinstance(value, str) and value else None


def _queued(context: Context, kind: str, params: dict) -> JobOut:
    return JobOut.model_validate(use.start(context.books, kind, params))


@routes.write("/jobs/recalculate", "standings:write", response_model=JobOut, status_code=202)
def recalculate_job(context: Caller, asked: RecalcIn):
    """Recalculate (what is pending, or all) in the background, with its alerts."""
    params = {"as_of": today(context, asked.as_of).isoformat(), "full": asked.full}
    return _queued(context, "recalculate", params)


@routes.write("/jobs/close/{label}", "periods:close", response_model=JobOut, status_code=202)
def close_job(label: str, context: Caller, asked: CloseIn):
    """Close a period in the background (recalculating first)."""
    day = today(context, asked.as_of).isoformat()
    params = {"label": label, "as_of": day, "force_reason": asked.force_reason}
    return _queued(context, "close", params)


@routes.write("/jobs/import-lines", "lines:write", response_model=JobOut, status_code=202)
def import_lines_job(file: UploadFile, context: Caller):
    """A lines file kept now and imported in the background, then recalculated."""
    with received(context.books, file) as sent:
        return JobOut.model_validate(use.import_lines_later(context.books, sent, today(context)))


@routes.write("/jobs/simulate", "analytics:read", response_model=JobOut, status_code=202)
def simulate_job(context: Caller, asked: SimulateIn):
    """Drafts simulated in the background (checked now: a bad draft is a 422 at once)."""
    for n, text in enumerate(asked.drafts, 1):
        parse_program(text, f"draft {n}")
    return _queued(context, "simulate", asked.model_dump())


class StatementsIn(BaseModel):
    """A statement run: `period`'s statements for `partners`, or for every partner."""

    period: str = Field(max_length=10, examples=["2026-Q1"])
    partners: list[str] | None = Field(None, max_length=10_000)


@routes.write("/jobs/statements", "ledger:read", response_model=JobOut, status_code=202)
def statements_job(context: Caller, asked: StatementsIn):
    """Each partner's PDF statement of a period rendered in the background, progress per
    partner; the result lists them, each at `/jobs/{id}/statements/{partner_id}.pdf`."""
    return JobOut.model_validate(use.statements_later(context.books, asked.period, asked.partners))


@routes.read(
    "/jobs/{job_id}/statements/{partner_id}.pdf",
    "settlements:read",
    response_class=Response,
    responses={200: files("application/pdf")},
    operation_id="download_statement",
)
def statement_file(job_id: PathId, partner_id: str, context: Caller):
    """A statement a statement run kept: staff get any, a partner only their own."""
    context.check_partner(partner_id, "statement of")
    name, content = issued(context.books, job_id, partner_id)
    saved = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type="application/pdf", headers=saved)


@routes.read(
    "/jobs", "jobs:read", response_model=Page[JobOut], sort=("id", "status", "kind", "created_at")
)
def job_list(context: Caller, paging: Listed, status: str | None = None, kind: str | None = None):
    """The jobs, newest first unless sorted otherwise."""
    query = where_given(select(JobRow), (JobRow.status, status), (JobRow.kind, kind))
    if not paging.sort:
        query = query.order_by(JobRow.id.desc())
    with context.books.session() as session:
        return listing(session, query, JobRow, paging, JobOut.model_validate, "jobs")


@routes.read("/jobs/{job_id}", "jobs:read", response_model=JobOut, operation_id="get_job")
def job(job_id: PathId, context: Caller):
    """One job's status and progress: poll it until `status` is done or failed."""
    return JobOut.model_validate(jobs.get(context.books, job_id))

"""Background jobs in the browser: the latest jobs with their progress, each row asking for
its own status every second (HTMX) while it waits or runs; one job on its own page, where a
form that queued it sends the person, with what it made once done; and a recalculation started
as a job."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from accrue.api.schemas import PathId
from accrue.app.jobs import start
from accrue.domain.errors import NotFound
from accrue.domain.permissions import allows
from accrue.store import jobs
from accrue.store.tables import JobRow
from accrue.web.pages import back, page, pages
from accrue.web.session import Checked, Missing, Viewer

SHOWN = 50


def _result(job: JobRow) -> dict:
    return json.loads(job.result) if job.result else {}


def _summary(job: JobRow) -> str:
    return _result(job).get("summary", "")


def _job(viewer: Viewer, job_id: int) -> JobRow:
    try:
        return jobs.get(viewer.books, job_id)
    except NotFound as missing:
        raise Missing(str(missing)) from None


@pages.read("/jobs", "jobs:read", response_class=HTMLResponse)
def job_list(request: Request, viewer: Viewer):
    """The newest jobs first, with their progress or result."""
    with viewer.books.session() as session:
        found = session.scalars(select(JobRow).order_by(JobRow.id.desc()).limit(SHOWN)).all()
    shown = [(job, _summary(job)) for job in found]
    may = allows(viewer.user.role, "standings:write")
    return page(request, "jobs.html", user=viewer.user, jobs=shown, may_recalculate=may)


@pages.read("/jobs/{job_id}/status", "jobs:read", response_class=HTMLResponse)
def job_status(request: Request, job_id: PathId, viewer: Viewer):
    """One job's row, as the list polls it."""
    job = _job(viewer, job_id)
    return page(request, "_job.html", job=job, summary=_summary(job))


@pages.read("/jobs/{job_id}", "jobs:read", response_class=HTMLResponse)
def job_page(request: Request, job_id: PathId, viewer: Viewer):
    """One job followed on its own page (where a form that queued it sends the person), with
    what it made once done."""
    return page(request, "job.html", user=viewer.user, **_shown(_job(viewer, job_id)))


@pages.read("/jobs/{job_id}/view", "jobs:read", response_class=HTMLResponse)
def job_view(request: Request, job_id: PathId, viewer: Viewer):
    """The job's part of its page, as the page polls it."""
    return page(request, "_job_view.html", **_shown(_job(viewer, job_id)))


def _shown(job: JobRow) -> dict:
    return {"job": job, "summary": _summary(job), "result": _result(job)}


@pages.write("/jobs/recalculate", "standings:write")
def recalculate(
    request: Request, viewer: Viewer, _: Checked, full: Annotated[bool, Form()] = False
) -> RedirectResponse:
    """Queue a recalculation (with its alerts) and show it running."""
    today = viewer.books.clock().date().isoformat()
    job = start(viewer.books, "recalculate", {"as_of": today, "full": full})
    return back(request, "/jobs", f"job {job.id}: recalculation queued")

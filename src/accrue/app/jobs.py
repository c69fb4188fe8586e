"""Long use cases as background jobs: queued by any door, run by a worker (the server's
thread, another server process on PostgreSQL, or `accrue jobs run`), their progress written to
the job table as they go and their result kept (see accrue.store.jobs for claiming and what a
restart does with a job left running).

Each kind names the permission that may start it and runs one use case of this package with
the parameters it was queued with, as the person who queued it."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from accrue.analytics.simulation import simulate
from accrue.app import statements
from accrue.app.books import Progress, close_period, import_lines, recalculate
from accrue.app.insight import Question, answer, answered
from accrue.domain.errors import NotFound, Refused
from accrue.domain.program import parse_program
from accrue.ingest.errors import InputError
from accrue.store import jobs
from accrue.store.books import Books
from accrue.store.close import guard
from accrue.store.tables import JobRow
from accrue.store.threads import repeating
from accrue.store.uploads import Upload, forget

log = logging.getLogger(__name__)
Turn = Callable[[], AbstractContextManager]


@dataclass(frozen=True)
class Kind:
    """A kind of job: who may start it, and the use case it runs (books, params, progress)
    → a result that JSON can hold."""

    permission: str
    run: Callable[[Books, dict, Progress], dict]


def _recalculate(books: Books, params: dict, progress: Progress) -> dict:
    progress(0, 1, "recalculating")
    done = recalculate(books, date.fromisoformat(params["as_of"]), params.get("full", False))
    return {"summary": done.summary, "alerts": len(done.alerts)}


def _import_lines(books: Books, params: dict, progress: Progress) -> dict:
    files = [(Path(path), name) for path, name in params["files"]]
    day = date.fromisoformat(params["as_of"])
    try:
        imported = import_lines(books, files, day, params.get("recalculate", True), progress)
    except InputError:  # the file refused whole: not kept, as an upload imported at once
        forget(Upload(*files[0], brought=params.get("brought", False)))
        raise
    summaries = [r.summary for r in imported.received]
    if imported.refreshed:
        summaries.append(imported.refreshed.summary)
    batches = [r.batch.id for r in imported.received]
    return {"summary": "; ".join(summaries), "batches": batches, "rejected": imported.rejected}


def _close(books: Books, params: dict, progress: Progress) -> dict:
    progress(0, 1, f"closing {params['label']}")
    day = date.fromisoformat(params["as_of"])
    closed = close_period(books, params["label"], day, params.get("force_reason"))
    return {"summary": closed.summary, "settlements": closed.settlements}


def _simulate(books: Books, params: dict, progress: Progress) -> dict:
    drafts = [parse_program(text, f"draft {n}") for n, text in enumerate(params["drafts"], 1)]
    progress(0, 1, f"simulating {len(drafts)} draft(s) over {params['period']}")
    found = simulate(books, drafts, params["period"], params.get("by", "segment"))
    rows = [
        {"draft": s.program, "segment": segment, "partners": t.partners, "cost": str(t.cost)}
        for s in found
        for segment, t in [("all", s.total), *sorted(s.segments.items())]
    ]
    return {"summary": f"{len(found)} draft(s) simulated over {params['period']}", "rows": rows}


def _analyse(books: Books, params: dict, progress: Progress) -> dict:
    """The analytics page's question worked out and kept in this process (see
    accrue.app.insight); the result names the version of the books it was worked out on."""
    version = books.version()
    found = answer(books, Question.of(params), progress)
    return {"summary": f"{len(found)} analyses worked out", "version": version}


KINDS: dict[str, Kind] = {
    "recalculate": Kind("standings:write", _recalculate),
    "import_lines": Kind("lines:write", _import_lines),
    "close": Kind("periods:close", _close),
    "simulate": Kind("analytics:read", _simulate),
    "analytics": Kind("analytics:read", _analyse),
    statements.KIND: Kind("ledger:read", statements.issue),
}


def start(books: Books, kind: str, params: dict) -> JobRow:
    """Queue a job of `kind` as the books' actor; a worker picks it up."""
    if kind not in KINDS:
        raise Refused(f"kind: choose from {', '.join(KINDS)}")
    return jobs.submit(books, kind, params)


def import_lines_later(books: Books, upload: Upload, as_of: date) -> JobRow:
    """Queue an import of an upload already kept."""
    params = {"files": [(str(upload.path), upload.name)], "brought": upload.brought}
    return start(books, "import_lines", {**params, "as_of": as_of.isoformat()})


def close_later(books: Books, label: str, as_of: date, force_reason: str | None) -> JobRow:
    """Queue a close, refusing at once one before the period's end without a reason: the
    person asking hears it now, not from a failed job."""
    guard(label, as_of, force_reason)
    params = {"label": label, "as_of": as_of.isoformat(), "force_reason": force_reason}
    return start(books, "close", params)


def statements_later(books: Books, label: str, partners: list[str] | None) -> JobRow:
    """Queue a statement run of `label` for `partners` (every partner when none)."""
    return start(books, statements.KIND, statements.params(books, label, partners))


def analysis(books: Books, question: Question, working_out: Callable[[], dict]) -> dict | JobRow:
    """The answer to the analytics page's `question` when it is kept, else the job working it
    out: the one already queued or running, or a new one. When a worker in another process
    has just worked it out for this version of the books (it is kept there, not here), it is
    worked out here by `working_out` rather than queued again and again."""
    found = answered(books, question)
    if found is not None:
        return found
    params = question.params()
    job = jobs.latest(books, "analytics", params)
    if job is not None and job.status in (jobs.QUEUED, jobs.RUNNING):
        return job
    if job is not None and job.status == jobs.DONE and _worked_out_at(job) == books.version():
        return working_out()
    return start(books, "analytics", params)


def _worked_out_at(job: JobRow) -> int | None:
    return json.loads(job.result).get("version")


def worker_name() -> str:
    """Who runs a job, as the job table shows it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_next(
    books: Books,
    turn: Turn = nullcontext,
    watch: Progress | None = None,
    job_id: int | None = None,
) -> JobRow | None:
    """Claim the oldest queued job (or `job_id`) and run it here, `turn` held around its use
    of the books; `watch` also sees its progress (the CLI's bar). None when none waits."""
    with jobs.claimed(books, worker_name(), job_id) as job:
        if job is None:
            return None
        with turn():
            _run(books, job, watch)
    return jobs.get(books, job.id)


def _run(books: Books, job: JobRow, watch: Progress | None) -> None:
    """The job's use case as whoever queued it; a refusal or a bug fails the job with why."""

    def progress(done: int, total: int, doing: str) -> None:
        jobs.progress(books, job.id, done, total, doing)
        if watch:
            watch(done, total, doing)

    acting = books.acting_as(job.requested_by)
    try:
        result = KINDS[job.kind].run(acting, json.loads(job.params), progress)
    except (Refused, NotFound) as refused:  # what the person asked for cannot be done
        jobs.fail(books, job.id, str(refused))
    except Exception as error:  # a bug: logged with its trace, and the job says so
        log.exception("job %s (%s) failed", job.id, job.kind)
        jobs.fail(books, job.id, f"internal error: {type(error).__name__}: {error}")
    else:
        jobs.finish(books, job.id, result)


def working(books: Books, turn: Turn, interval: float) -> AbstractContextManager:
    """The server's job thread while the context lasts: jobs a dead process left running are
    recovered first, then queued jobs run one after another (one a pass, so stopping
    never waits for the whole queue), woken when one is queued or every `interval` seconds."""
    jobs.recover(books)

    def run_one() -> None:
        if run_next(books, turn):  # there may be more: the next pass comes at once
            books.jobs_waiting.set()

    return repeating("accrue-jobs", books.jobs_waiting, interval, run_one)

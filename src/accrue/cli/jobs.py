"""Background jobs from the command line: the list, and queued jobs run here with a progress
bar — the same jobs the server's worker runs (on PostgreSQL, `accrue jobs run` is one more
worker; claims never collide)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from accrue.cli.app import app, console, errors, progress_bar, record_option, reports_errors
from accrue.cli.books import opened, table

jobs_app = typer.Typer(help="Background jobs: imports, recalculation, close, simulations.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
@reports_errors
def job_list(
    last: Annotated[int, typer.Option(help="how many, newest first")] = 20,
) -> None:
    """The newest jobs with their status, progress or result."""
    from sqlalchemy import select

    from accrue.store.tables import JobRow

    with opened() as books, books.session() as session:
        found = session.scalars(select(JobRow).order_by(JobRow.id.desc()).limit(last)).all()
    rows = [
        (j.id, j.kind, j.requested_by, j.status, f"{j.done}/{j.total}", j.doing or j.error)
        for j in found
    ]
    columns = ["id", "kind", "by", "status", "progress", "doing or why it failed"]
    console.print(table("Jobs", columns, rows, right=("id",)))


@jobs_app.command("run")
@reports_errors
def run(
    job: Annotated[int | None, record_option("--id", help="only this queued job")] = None,
) -> None:
    """Run queued jobs here, oldest first, each with a progress bar; exit 1 if one failed."""
    from accrue.store.jobs import FAILED

    failed = False
    with opened() as books:
        while (ran := _run_one(books, job)) is not None:
            failed |= ran.status == FAILED
            if ran.status == FAILED:
                errors.print(f"job {ran.id} ({ran.kind}): failed — {ran.error}", highlight=False)
            else:
                summary = json.loads(ran.result).get("summary", "")
                console.print(f"job {ran.id} ({ran.kind}): done — {summary}", highlight=False)
            if job is not None:
                break
    if failed:
        raise typer.Exit(1)


def _run_one(books, job_id: int | None):
    """The next queued job (or `job_id`) run here behind a progress bar; None if none."""
    from accrue.app.jobs import run_next

    with progress_bar() as bar:
        task = bar.add_task("waiting", total=None)

        def watch(done: int, total: int, doing: str) -> None:
            bar.update(task, completed=done, total=total or None, description=doing)

        return run_next(books, watch=watch, job_id=job_id)

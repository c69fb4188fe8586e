"""The job table: long use cases queued, claimed by one worker, their progress and their end.

A worker claims the oldest queued job in one short transaction — on PostgreSQL with `FOR
UPDATE SKIP LOCKED`, so two workers never take the same job and neither waits for the other —
and on PostgreSQL holds the advisory lock (JOB_LOCK, job id) on a connection of its own for as
long as it runs the job. A job marked running whose lock nobody holds was left by a process
that died; on the embedded store only one process opens the books, so when it starts every
job marked running was left by a dead one.

What happens to such a job (`recover`): every kind of job is safe to run again — an import of
the same file changes nothing, a recalculation recomputes, a close is one transaction that
happened or did not — so it is queued again, once. A job that was already started
`MAX_ATTEMPTS` times is marked failed with the reason, so a job that kills its process cannot
kill every restart after it.

Job rows are the workers' state, not records of the books: they are written outside the
writers' queue and not sealed, and a progress note never waits for a recalculation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from accrue.domain.errors import NotFound
from accrue.store.books import Books
from accrue.store.tables import JobRow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 2
JOB_LOCK = 4245  # PostgreSQL advisory lock: (this, job id) held by the process running it
DIED = "the process running it stopped ({worker}); "


@contextmanager
def _transaction(books: Books) -> Iterator[Session]:
    """A short transaction on the job table alone (no writers' queue, no seals)."""
    with Session(books.engine, expire_on_commit=False) as session, session.begin():
        yield session


def submit(books: Books, kind: str, params: dict) -> JobRow:
    """Queue a job for whichever worker is free first."""
    with _transaction(books) as session:
        job = JobRow(
            kind=kind,
            params=json.dumps(params, sort_keys=True),
            status=QUEUED,
            requested_by=books.settings.actor,
            worker="",
            attempts=0,
            done=0,
            total=0,
            doing="",
            result="",
            error="",
            created_at=books.now(),
        )
        session.add(job)
    books.jobs_waiting.set()
    return job


def get(books: Books, job_id: int) -> JobRow:
    with _transaction(books) as session:
        job = session.get(JobRow, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def latest(books: Books, kind: str, params: dict) -> JobRow | None:
    """The newest job of `kind` queued with these very parameters, whatever became of it."""
    with _transaction(books) as session:
        return session.scalar(
            select(JobRow)
            .where(JobRow.kind == kind, JobRow.params == json.dumps(params, sort_keys=True))
            .order_by(JobRow.id.desc())
            .limit(1)
        )


@contextmanager
def claimed(books: Books, worker: str, job_id: int | None = None) -> Iterator[JobRow | None]:
    """The oldest queued job (or `job_id` if it is queued), marked running by `worker` and
    held for as long as the block runs; None when there is none."""
    with _holder(books) as hold:
        with _transaction(books) as session:
            query = select(JobRow).where(JobRow.status == QUEUED)
            if job_id is not None:
                query = query.where(JobRow.id == job_id)
            job = session.scalar(
                query.order_by(JobRow.id).limit(1).with_for_update(skip_locked=True)
            )
            if job is not None:
                hold(job.id)  # before the claim commits: no recovery ever sees it unheld
                job.status, job.worker, job.started_at = RUNNING, worker, books.now()
                job.attempts += 1
                job.error = ""
        yield job


@contextmanager
def _holder(books: Books):
    """On PostgreSQL a connection that holds the lock of each job claimed through it."""
    if not books.postgres:
        yield lambda job_id: None
        return
    with books.engine.connect() as holder:

        def hold(job_id: int) -> None:
            holder.execute(text("SELECT pg_advisory_lock(:l, :j)"), {"l": JOB_LOCK, "j": job_id})

        try:
            yield hold
        finally:
            holder.execute(text("SELECT pg_advisory_unlock_all()"))
            holder.commit()


def progress(books: Books, job_id: int, done: int, total: int, doing: str) -> None:
    _set(books, job_id, done=done, total=total, doing=doing)


def finish(books: Books, job_id: int, result: dict) -> None:
    with _transaction(books) as session:
        job = session.get(JobRow, job_id)
        job.status, job.finished_at, job.doing = DONE, books.now(), ""
        job.done = job.total = max(job.total, 1)
        job.result = json.dumps(result, sort_keys=True)


def fail(books: Books, job_id: int, error: str) -> None:
    _set(books, job_id, status=FAILED, error=error, finished_at=books.now(), doing="")


def _set(books: Books, job_id: int, **values) -> None:
    with _transaction(books) as session:
        session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))


def recover(books: Books) -> list[JobRow]:
    """Jobs left running by a process that died: queued again, or failed after their last
    attempt (see the module's docstring)."""
    with _transaction(books) as session:
        running = session.scalars(
            select(JobRow).where(JobRow.status == RUNNING).with_for_update(skip_locked=True)
        ).all()
        left = [job for job in running if _abandoned(books, session, job.id)]
        for job in left:
            why = DIED.format(worker=job.worker or "unknown")
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.finished_at = FAILED, books.now()
                job.error = why + f"not started again after {job.attempts} attempts"
            else:
                job.status, job.error = QUEUED, why + "queued again"
    if left:
        books.jobs_waiting.set()
    return left


def _abandoned(books: Books, session: Session, job_id: int) -> bool:
    if not books.postgres:
        return True
    free = text("SELECT pg_try_advisory_xact_lock(:l, :j)")
    return session.scalar(free, {"l": JOB_LOCK, "j": job_id})

"""The analytics staff ask for on the portal, worked out step by step (calibration,
simulation, lift, projected liability, unclaimed money) and each step kept for the version of
the books it was worked out on.

Working them out takes tens of seconds on a large book, so the page never does it while
someone waits: it shows what is kept (`answered`) and otherwise has a background job work it
out (`answer`, run by the job kind "analytics" of accrue.app.jobs) with its progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

from accrue.analytics.calibration import calibrate_program
from accrue.analytics.forecasts import forecasts, projected_liability
from accrue.analytics.lift import lift
from accrue.analytics.simulation import simulate
from accrue.analytics.unclaimed import unclaimed
from accrue.app.books import Progress
from accrue.domain.errors import NotFound, Refused
from accrue.store.books import Books


@dataclass(frozen=True)
class Question:
    """What the analytics page was asked: a program (with another to compare), periods, how to
    segment, whether to project the liability; on `today`."""

    today: date
    program: str = ""
    other: str = ""
    baseline: str = ""
    period: str = ""
    after: str = ""
    by: str = "segment"
    forecast: bool = False

    def params(self) -> dict:
        """The question as a job's parameters (JSON)."""
        return {**asdict(self), "today": self.today.isoformat()}

    @classmethod
    def of(cls, params: dict) -> Question:
        return cls(**{**params, "today": date.fromisoformat(params["today"])})


@dataclass(frozen=True)
class Problem:
    """Why the books cannot answer one step (an unknown program period, no lines to compare):
    kept like an answer, so asking again does not queue the same refusal again."""

    message: str


@dataclass(frozen=True)
class Step:
    name: str  # what the page calls its answer
    doing: str  # what the job's progress says while it works it out
    key: tuple  # what it is kept under, with the books' version
    compute: Callable[[], object]


def steps(books: Books, question: Question) -> list[Step]:
    """The steps `question` needs, in the order the job works them out."""
    q = question
    with books.reading().session() as session:
        programs = books.latest_programs(session)
    chosen, compared = programs.get(q.program), programs.get(q.other)
    found = []
    if chosen and q.baseline:
        found.append(
            Step(
                "calibration",
                f"calibration on {q.baseline}",
                ("calibrate", q.program, q.baseline, q.by),
                lambda: calibrate_program(books, chosen, q.baseline, q.by),
            )
        )
    if chosen and q.period:
        drafts = [chosen, *([compared] if compared and compared.id != chosen.id else [])]
        found.append(
            Step(
                "simulations",
                f"simulation of {len(drafts)} program(s) over {q.period}",
                ("simulate", *(d.id for d in drafts), q.period, q.by),
                lambda: simulate(books, drafts, q.period, q.by),
            )
        )
    if chosen and q.baseline and q.after:
        found.append(
            Step(
                "lift",
                f"lift from {q.baseline} to {q.after}",
                ("lift", q.program, q.baseline, q.after),
                lambda: lift(books, chosen.id, q.baseline, q.after, reps=500),
            )
        )
    if q.forecast:  # every open standing projected: seconds on a large book, so on request
        found.append(
            Step(
                "liability",
                "forecasts of the liability",
                ("liability", q.today),
                lambda: projected_liability(forecasts(books, q.today)),
            )
        )
    found.append(
        Step(
            "unclaimed",
            "money left unclaimed",
            ("unclaimed", q.today),
            lambda: unclaimed(books, q.today),
        )
    )
    return found


def answered(books: Books, question: Question) -> dict | None:
    """Every step's answer (or Problem) as kept for the current version of the books; None
    when any is not kept here yet."""
    found = {}
    with books.reading().session() as session:
        for step in steps(books, question):
            try:
                found[step.name] = books.recall(_kept(step), session)
            except KeyError:
                return None
    return found


def answer(books: Books, question: Question, progress: Progress) -> dict:
    """Work out each step not kept yet (telling `progress` which), keeping each for the
    version of the books it was worked out on."""
    todo = steps(books, question)
    found = {}
    for done, step in enumerate(todo):
        progress(done, len(todo), step.doing)
        found[step.name] = books.remembered(_kept(step), lambda step=step: _worked_out(step))
    progress(len(todo), len(todo), "done")
    return found


def _kept(step: Step) -> tuple:
    return ("analytics", *step.key)


def _worked_out(step: Step):
    """The step's answer, or the Problem the books refused it with."""
    try:
        return step.compute()
    except (Refused, NotFound) as refused:
        return Problem(str(refused))

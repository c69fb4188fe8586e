"""Program versions with effective dating (rule 12).

Importing a program that is unchanged does nothing; a changed one becomes the next version,
taking effect at the start of a period that is still open (by default the first open one), so
no closed period is ever re-priced. Every version stays stored: each amount names its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from accrue.domain.errors import Conflict
from accrue.domain.periods import Closed, Period
from accrue.domain.program import Program
from accrue.store.books import Books
from accrue.store.pending import mark_for_recalc
from accrue.store.tables import ClosedPeriod, ProgramSourceRow, ProgramVersionRow


class VersionError(Conflict):
    pass


@dataclass(frozen=True)
class Imported:
    program: Program
    status: str  # new, unchanged or new version

    @property
    def summary(self) -> str:
        effect = f", takes effect {self.program.takes_effect}" if self.program.takes_effect else ""
        return f"{self.program.ref}: {self.status}{effect}"


def import_program(
    books: Books, program: Program, takes_effect: date | None = None, source: str | None = None
) -> Imported:
    """Store `program` as a new version unless unchanged; `source`, the YAML it was parsed
    from, is kept with the version for the editor to show as written."""
    with books.session() as session:
        versions = session.scalars(
            select(ProgramVersionRow)
            .where(ProgramVersionRow.program_id == program.id)
            .order_by(ProgramVersionRow.version)
        ).all()
        if not versions:
            stored, status = program.model_copy(update={"version": 1, "takes_effect": None}), "new"
        else:
            latest = Program.model_validate_json(versions[-1].document)
            same = program.model_copy(
                update={"version": latest.version, "takes_effect": latest.takes_effect}
            )
            if same.digest == latest.digest:
                return Imported(latest, "unchanged")
            closed = Closed(session.scalars(select(ClosedPeriod.label)))
            start = _takes_effect(program, latest, closed, takes_effect or program.takes_effect)
            stored = Program.model_validate(
                {
                    **program.model_dump(by_alias=True),
                    "version": latest.version + 1,
                    "takes_effect": start,
                }
            )
            status = "new version"
        session.add(
            ProgramVersionRow(
                program_id=stored.id,
                version=stored.version,
                digest=stored.digest,
                takes_effect=stored.takes_effect,
                document=stored.model_dump_json(by_alias=True),
                imported_at=books.now(),
            )
        )
        if source is not None:
            session.add(
                ProgramSourceRow(program_id=stored.id, version=stored.version, source=source)
            )
        mark_for_recalc(session, ["*"])
        books.audit(
            session,
            "import",
            "program",
            stored.ref,
            before={"version": versions[-1].version, "digest": versions[-1].digest}
            if versions
            else None,
            after={
                "digest": stored.digest,
                "takes_effect": stored.takes_effect,
                "document": stored.model_dump(mode="json", by_alias=True),
            },
        )
    return Imported(stored, status)


def _takes_effect(program: Program, latest: Program, closed: Closed, asked: date | None) -> date:
    """The start of the first open period, or the date asked for if it starts an open one."""
    if asked is None:
        period = closed.next_open(Period.containing(program.period, program.effective.from_))
        if latest.takes_effect and period.start <= latest.takes_effect:
            raise VersionError(
                f"{program.id}: v{latest.version} takes effect {latest.takes_effect}; say when "
                "this change takes effect (a later period start)"
            )
        return period.start
    period = Period.containing(program.period, asked)
    if period.start != asked:
        raise VersionError(
            f"{program.id}: a version takes effect at the start of a {program.period.value} "
            f"(not {asked}; {period.next().start} is the next one)"
        )
    if period in closed:
        raise VersionError(
            f"{program.id}: {period.label} is closed; a new version can take effect from "
            f"{closed.next_open(period).start} on"
        )
    if latest.takes_effect and asked <= latest.takes_effect:
        raise VersionError(f"{program.id}: must take effect after {latest.takes_effect}")
    return asked

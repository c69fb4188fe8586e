"""What every analysis reads: a program's per-partner aggregates over some period's lines, and
which segment a partner belongs to."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from accrue.domain.partners import Partner
from accrue.domain.periods import Period
from accrue.domain.program import Effective, Program
from accrue.engine import Engine
from accrue.store.books import Books


def over(program: Program, period: Period) -> Program:
    """The program as if it ran in `period` (its own rules, that period's dates)."""
    return program.model_copy(
        update={
            "effective": Effective(**{"from": period.start, "to": period.end}),
            "takes_effect": None,
        }
    )


def engine(books: Books, until: date | None = None) -> Engine:
    """The engine over the books' current lines (up to `until`, if given)."""
    with books.session() as session:
        data = books.dataset(session)
    if until is not None:
        data = replace(data, lines=data.lines.filter(data.lines.date <= until))
    return Engine(data)


def segment_of(partner: Partner | None, by: str) -> str:
    """A partner's segment by any attribute: segment, region, or a column of the partners file."""
    if partner is None:
        return "(unknown)"
    value = (
        getattr(partner, by, None) if by in ("segment", "region") else partner.attributes.get(by)
    )
    return str(value) if value not in (None, "") else "(none)"

"""Calendar periods (month, quarter, half, year) and the arithmetic programs need on them."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from accrue.domain.errors import Refused


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "half": 6, "year": 12}[self.value]


_LABEL = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")


@dataclass(frozen=True, order=True)
class Period:
    """One period of a kind in a calendar year; `index` counts from 1 (Q3 is index 3)."""

    year: int
    kind: PeriodKind
    index: int

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        return cls(day.year, kind, index_of_month(kind, day.month))

    @classmethod
    def parse(cls, label: str) -> Period:
        """`2026`, `2026-H1`, `2026-Q3` or `2026-07`."""
        match = _LABEL.match(label.strip())
        if not match:
            raise Refused(f"{label!r} is not a period: write 2026, 2026-H1, 2026-Q3 or 2026-07")
        year, month, quarter, half = match.groups()
        if month:
            if not 1 <= int(month) <= 12:
                raise Refused(f"{label!r}: month must be 01 to 12")
            return cls(int(year), PeriodKind.MONTH, int(month))
        if quarter:
            return cls(int(year), PeriodKind.QUARTER, int(quarter))
        if half:
            return cls(int(year), PeriodKind.HALF, int(half))
        return cls(int(year), PeriodKind.YEAR, 1)

    @property
    def first_month(self) -> int:
        return (self.index - 1) * self.kind.months + 1

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        last_month = self.first_month + self.kind.months - 1
        return date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        suffix = {
            PeriodKind.MONTH: f"-{self.index:02d}",
            PeriodKind.QUARTER: f"-Q{self.index}",
            PeriodKind.HALF: f"-H{self.index}",
            PeriodKind.YEAR: "",
        }[self.kind]
        return f"{self.year}{suffix}"

    def __str__(self) -> str:
        return self.label

    def shifted_years(self, years: int) -> Period:
        return Period(self.year + years, self.kind, self.index)

    def next(self) -> Period:
        per_year = 12 // self.kind.months
        if self.index == per_year:
            return Period(self.year + 1, self.kind, 1)
        return Period(self.year, self.kind, self.index + 1)

    def previous(self) -> Period:
        if self.index == 1:
            return Period(self.year - 1, self.kind, 12 // self.kind.months)
        return Period(self.year, self.kind, self.index - 1)

    def within(self, other: Period) -> bool:
        return other.start <= self.start and self.end <= other.end

    def days_elapsed(self, as_of: date) -> int:
        """Days of this period up to and including `as_of`, clipped to the period."""
        if as_of < self.start:
            return 0
        return (min(as_of, self.end) - self.start).days + 1


def index_of_month(kind: PeriodKind, month: int) -> int:
    return (month - 1) // kind.months + 1


def periods_between(kind: PeriodKind, first: date, last: date) -> list[Period]:
    """Every period of `kind` that overlaps [first, last], in order."""
    periods, period = [], Period.containing(kind, first)
    while period.start <= last:
        periods.append(period)
        period = period.next()
    return periods


class Closed:
    """The closed periods (any kinds): a period is closed when a closed period contains it."""

    def __init__(self, labels):
        self.periods = [Period.parse(label) for label in labels]

    def __contains__(self, period: Period) -> bool:
        return any(period.within(closed) for closed in self.periods)

    def next_open(self, period: Period) -> Period:
        """Where late data for a closed period is booked (rule 11): the next open period."""
        while period in self:
            period = period.next()
        return period


def running(day: date) -> list[str]:
    """The labels of the periods of every kind (month, quarter, half, year) containing `day`."""
    return [Period.containing(kind, day).label for kind in PeriodKind]

"""Market development funds (E14): a share of purchases accrues to each partner's fund every
period; the partner spends it on approved marketing, with proof of performance; what is left
unused expires a set number of periods after it accrued.

Funds are spent oldest first, so what expires is what nobody used in time. A claim larger than
what is available is approved up to the available amount and the rest is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accrue.domain.money import ZERO
from accrue.domain.periods import Period

INSUFFICIENT = "insufficient funds"


@dataclass(frozen=True)
class Tranche:
    """What one period accrued to a partner's fund, and what became of it."""

    period: str
    accrued: Decimal
    used: Decimal
    expired: Decimal
    expires_on: date | None  # the last day it can be used; None: it never expires

    @property
    def remaining(self) -> Decimal:
        return max(self.accrued - self.used - self.expired, ZERO)

    def usable_on(self, day: date) -> bool:
        return self.expires_on is None or day <= self.expires_on


def expires_on(period: Period, after: int | None) -> date | None:
    """Funds accrued in `period` can be used until the end of the `after`-th period after it
    (after=2: Q1's funds until the end of Q3)."""
    if after is None:
        return None
    for _ in range(after):
        period = period.next()
    return period.end


def available(tranches: list[Tranche], on: date) -> Decimal:
    return sum((t.remaining for t in tranches if t.usable_on(on)), ZERO)


def draw(tranches: list[Tranche], asked: Decimal, on: date) -> list[tuple[str, Decimal]]:
    """(period, amount) drawn for a claim of `asked`, oldest usable funds first; the total is
    at most what is available."""
    draws, wanted = [], asked
    for tranche in sorted(tranches, key=lambda t: Period.parse(t.period)):
        if wanted <= 0:
            break
        if tranche.usable_on(on) and tranche.remaining > 0:
            taken = min(tranche.remaining, wanted)
            draws.append((tranche.period, taken))
            wanted -= taken
    return draws


def expiring(tranches: list[Tranche], on: date) -> list[tuple[str, Decimal]]:
    """(period, amount) of funds past their last day on `on` and not yet written off."""
    return [(t.period, t.remaining) for t in tranches if not t.usable_on(on) and t.remaining > 0]

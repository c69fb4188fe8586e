"""What a period settles: its amount, late adjustments and what was carried in, held back when
it is under the minimum payout (rule 7) so it is never lost and never paid twice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Due:
    due: Decimal  # carried in + amount + adjustments
    payout: Decimal  # paid (or, when negative, charged back) now
    carried_out: Decimal  # held for the next period


def settle(carried_in: Decimal, amount: Decimal, minimum: Decimal, adjustments=Decimal(0)) -> Due:
    due = carried_in + amount + adjustments
    if 0 < due < minimum:
        return Due(due, Decimal(0), due)
    return Due(due, due, Decimal(0))

"""Exchange rates: a line converts at the rate in force on its date (rule 10)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accrue.domain.errors import NotFound

# Rates carry at most six decimals, so a rate is a whole number of micros and converting a
# line is integer arithmetic in any SQL engine.
RATE_DECIMALS = 6


@dataclass(frozen=True)
class FxRate:
    """`rate` units of `to_currency` per unit of `from_currency`, from `valid_from` on."""

    valid_from: date
    from_currency: str
    to_currency: str
    rate: Decimal


class MissingRate(NotFound):
    def __init__(self, from_currency: str, to_currency: str, day: date):
        self.from_currency, self.to_currency, self.day = from_currency, to_currency, day
        super().__init__(f"no {from_currency}→{to_currency} exchange rate on or before {day}")


class FxTable:
    def __init__(self, rates: Iterable[FxRate] = ()):
        series: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
        for rate in rates:
            if rate.rate <= 0 or rate.rate.as_tuple().exponent < -RATE_DECIMALS:
                raise ValueError(
                    f"rate {rate.rate} for {rate.from_currency}→{rate.to_currency} on "
                    f"{rate.valid_from} must be positive with at most {RATE_DECIMALS} decimals"
                )
            series[(rate.from_currency, rate.to_currency)].append((rate.valid_from, rate.rate))
        self._series = {pair: sorted(points) for pair, points in series.items()}

    def rate(self, from_currency: str, to_currency: str, day: date) -> Decimal:
        if from_currency == to_currency:
            return Decimal(1)
        points = self._series.get((from_currency, to_currency), [])
        at = bisect.bisect_right(points, (day, Decimal("Infinity")))
        if at == 0:
            raise MissingRate(from_currency, to_currency, day)
        return points[at - 1][1]

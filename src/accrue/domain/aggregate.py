"""What a program's lines add up to for one partner and period: the engine's only output."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from accrue.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Sums:
    units: Decimal = ZERO
    amount: Decimal = ZERO

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.units + other.units, self.amount + other.amount)

    def scaled(self, factor: Decimal | Fraction) -> Sums:
        """Callers run in the exact context (see money.exactly)."""
        return Sums(_times(self.units, factor), _times(self.amount, factor))

    def of(self, quantity: str) -> Decimal:
        return self.units if quantity == "units" else self.amount


def _times(value: Decimal, factor: Decimal | Fraction) -> Decimal:
    """A fraction multiplies first and divides last, so a product that ends in a finite
    decimal (a half cent, say) is exact and rounds as the rules say."""
    if isinstance(factor, Fraction):
        return value * factor.numerator / factor.denominator
    return value * factor


def _add_all(left: tuple[Sums, ...], right: tuple[Sums, ...]) -> tuple[Sums, ...]:
    if not left:
        return right
    if not right:
        return left
    return tuple(a + b for a, b in zip(left, right, strict=True))


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Sums over one program × partner × period, in the program's currency.

    `qualifying` decides the tier, `earning` is what rates apply to (rule 14), `windows[i]` is
    the earning part dated in multiplier window i, `mix` the qualifying part in the mix slice,
    `buckets[i]` the qualifying part in breadth bucket i.
    """

    qualifying: Sums = Sums()
    earning: Sums = Sums()
    windows: tuple[Sums, ...] = ()
    mix: Sums = Sums()
    buckets: tuple[Sums, ...] = ()
    lines: int = 0

    @classmethod
    def empty(cls, windows: int, buckets: int) -> Aggregate:
        """No lines yet, shaped for a program with this many windows and buckets."""
        return cls(windows=(Sums(),) * windows, buckets=(Sums(),) * buckets)

    def __add__(self, other: Aggregate) -> Aggregate:
        return Aggregate(
            self.qualifying + other.qualifying,
            self.earning + other.earning,
            _add_all(self.windows, other.windows),
            self.mix + other.mix,
            _add_all(self.buckets, other.buckets),
            self.lines + other.lines,
        )

    def scaled(self, factor: Decimal | Fraction) -> Aggregate:
        """Every sum times `factor`: the same mix of lines, more (or less) of it."""
        return Aggregate(
            self.qualifying.scaled(factor),
            self.earning.scaled(factor),
            tuple(w.scaled(factor) for w in self.windows),
            self.mix.scaled(factor),
            tuple(b.scaled(factor) for b in self.buckets),
            self.lines,
        )

    def plus_purchases(self, amount: Decimal, bucket: int | None = None, mix: bool = False):
        """The same aggregate with `amount` more of qualifying, earning purchases."""
        extra = Sums(ZERO, amount)
        buckets = list(self.buckets)
        if bucket is not None:
            buckets[bucket] = buckets[bucket] + extra
        return replace(
            self,
            qualifying=self.qualifying + extra,
            earning=self.earning + extra,
            mix=self.mix + extra if mix else self.mix,
            buckets=tuple(buckets),
        )


def total(aggregates) -> Aggregate:
    result = Aggregate()
    for aggregate in aggregates:
        result = result + aggregate
    return result

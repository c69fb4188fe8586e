"""Money is `Decimal`: computed at full precision, rounded once, allocated by largest remainder."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

# ISO 4217 currencies whose minor unit is not the usual two decimals.
_MINOR_UNITS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}

ZERO = Decimal(0)

# Precision wide enough that no product of a rate and a sum of lines is ever rounded.
PRECISION = 60


def exact():
    """A decimal context in which the engine's arithmetic is exact."""
    return localcontext(prec=PRECISION)


def exactly(function):
    """Run `function` in the exact context: one context switch per rule, not per operation."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with exact():
            return function(*args, **kwargs)

    return wrapper


def minor_unit(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return _step(minor_unit(currency))


@functools.cache
def _step(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit: the one rounding money gets, wherever it is."""
    return round_half_up(value, minor_unit(currency))


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Half-up to `places` decimals, from the exact value: how money is rounded, and so how
    anything shown beside it is (a measure, a share, a rate), never Python's half-even."""
    return settled(value).quantize(_step(places), rounding=ROUND_HALF_UP, context=_EXACT)


def settled(value: Decimal) -> Decimal:
    """The exact value behind a 60-digit approximation, before it is rounded.

    A quotient that does not terminate (a run rate of 92/61 days, purchases scaled to reach a
    threshold) is carried at 60 digits, and a product of it can land a hair off a half cent
    the exact arithmetic (and the plan, which computes in integers) hits: 6305/6 units at
    0.75 is 788.125, not 788.12499…. Every amount here is a ratio with a denominator far below
    10^30, so it is never closer than 10^-33 to a tie it does not hit; cut at 40 places, the
    approximation is the exact value again wherever the rounding could tell them apart.
    """
    if value.as_tuple().exponent >= -_SETTLED_PLACES:
        return value
    return value.quantize(_SETTLED_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)


def money_text(value: Decimal | None, currency: str) -> str | None:
    """Money as exact text for files and the API, at the minor unit (5050.00, JPY 5050)."""
    return None if value is None else format(round_money(value, currency), "f")


def readable_money(value: Decimal | str, currency: str, *, signed: bool = False) -> str:
    """Money as people read it, in e-mails, pages and statements: USD 12,345.60, JPY 12,346,
    KWD 12,345.600; `signed` for a change, which reads +USD… wrongly: USD +12,345.60."""
    sign = "+" if signed else ""
    return f"{currency} {round_money(Decimal(value), currency):{sign},f}"


def readable_percent(value: Decimal | float) -> str:
    """A fraction as people read it, to a tenth of a percent half-up: 0.1225 → 12.3%."""
    return f"{round_half_up(Decimal(value) * 100, 1):,f}%"


def readable_price(value: Decimal, currency: str) -> str:
    """A price per unit as written, to at least the minor unit: USD 0.125, USD 2.50."""
    finer = value.as_tuple().exponent < -minor_unit(currency)  # type: ignore[operator]
    return f"{currency} {value if finer else round_money(value, currency):,f}"


_EXACT = Context(prec=PRECISION)
_WIDE = Context(prec=2 * PRECISION)
_SETTLED_PLACES = 40
_SETTLED_QUANTUM = Decimal(1).scaleb(-_SETTLED_PLACES)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Whole multiples of `step` contained in `value` (points per whole $100, say)."""
    with exact():
        return (value / step).to_integral_value(rounding=ROUND_FLOOR)


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` over `weights` so the parts sum to it exactly.

    Largest remainder: every part gets its proportional share floored to the minor unit, then
    the cents left over go to the largest fractional remainders. Ties go to the earlier weight,
    so callers pass weights in tie-break order (date, document, line number). Weights may be
    negative (returns); when they sum to zero the total is split evenly.
    """
    if not weights:
        if total:
            raise ValueError(f"cannot allocate {total} {currency} over no lines")
        return []
    scale = 10 ** minor_unit(currency)
    total_units = int(total * scale)
    if Decimal(total_units) != total * scale:
        raise ValueError(f"{total} is not a whole number of {currency} minor units")
    fractions = [Fraction(w) for w in weights]
    weight_sum = sum(fractions, Fraction(0))
    if weight_sum == 0:
        fractions, weight_sum = [Fraction(1)] * len(weights), Fraction(len(weights))
    shares = [total_units * w / weight_sum for w in fractions]
    floors = [s.numerator // s.denominator for s in shares]
    leftover = total_units - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return [Decimal(units).scaleb(-minor_unit(currency)) for units in floors]

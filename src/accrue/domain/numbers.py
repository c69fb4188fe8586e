"""Every decimal read from outside — files, X12, JSON, program YAML — passes through here.

A value is a number a person could mean, or a refusal that says why: never NaN, an infinity,
or a `1E400` that is accepted now and fails later in arithmetic, far from the input that
carried it. Callers add their own, stricter limits (a quantity's three decimals, say) and
name the file, line and field; this says what is wrong with the value itself.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

from accrue.domain.errors import Refused

MAX_WHOLE_DIGITS = 18  # below 10**18: the line store's and the ledger's 64-bit integers
MAX_PLACES = 12  # finer than any currency, rate or unit conversion needs
_MAX_DIGITS = 60  # looked at before normalizing, so a megabyte of digits costs nothing


def read_decimal(value: str | int | Decimal) -> Decimal:
    """`value` as a finite Decimal of bounded size and places, or a ValueError saying what
    is wrong with it ("is not a finite number"), for the caller to put after the value."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused("is not a number") from None
    if not number.is_finite():
        raise Refused("is not a finite number")
    _, digits, exponent = number.as_tuple()
    if not number:  # zero, written 0.00 or 0E+400: its places are kept only when sensible
        return number if -MAX_PLACES <= exponent <= 0 else Decimal(0)
    if len(digits) > _MAX_DIGITS:
        raise Refused("has too many digits")
    if number.adjusted() >= MAX_WHOLE_DIGITS:
        raise Refused(f"is too large: over {MAX_WHOLE_DIGITS} digits before the point")
    significant = number.normalize(Context(prec=len(digits)))
    if significant.as_tuple().exponent < -MAX_PLACES:
        raise Refused(f"has more than {MAX_PLACES} decimal places")
    return number

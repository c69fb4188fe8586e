"""Numbers as people read them on the portal: money with its currency, points as points."""

from __future__ import annotations

from decimal import Decimal

from accrue.domain.lift import MONEY_METRICS
from accrue.domain.money import readable_money, readable_percent, round_half_up

METRICS = {
    "net_revenue": "Net revenue per partner",
    "category_rate": "Share of sales in the program's categories",
    "off_season": "Share of sales off season",
}


def points(value: Decimal | int | str) -> str:
    return f"{Decimal(value):,.0f} points"


def worth(of, value: Decimal | str) -> str:
    """`value` in the unit of `of` (a card or a program): points for a points program, money
    in its currency for any other."""
    return points(value) if of.kind == "points" else readable_money(value, of.currency)


def earned(card) -> str:
    return worth(card, card.points if card.kind == "points" else card.amount)


def percent(value: Decimal | float | None) -> str:
    """A fraction (a ratio a template divided too) as a percentage to one place; a dash where
    there is none."""
    return "—" if value is None else readable_percent(value)


def metric(key: str) -> str:
    """A lift metric in words, not its key."""
    return METRICS.get(key, key.replace("_", " ").capitalize())


def change(value: Decimal, key: str, currency: str) -> str:
    """A change in a lift metric as people read it: money with its sign in the program's
    currency, a share in points."""
    if key in MONEY_METRICS:
        return readable_money(value, currency, signed=True)
    return f"{round_half_up(value * 100, 1):+,f} pts"


def amount(value: Decimal | int | str) -> str:
    """A measure or count with thousands separators, to the cent at most."""
    number = Decimal(value)
    return f"{number:,.0f}" if number == number.to_integral() else f"{round_half_up(number, 2):,f}"


FILTERS = {
    "metric": metric,
    "change": change,
    "amount": amount,
    "money": readable_money,
    "points": points,
    "worth": worth,
    "earned": earned,
    "percent": percent,
}

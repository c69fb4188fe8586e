"""Numbers as people read them on the portal: money with its currency, points as points."""

from __future__ import annotations

from decimal import Decimal

from accrue.domain.money import readable_money


def points(value: Decimal | int | str) -> str:
    return f"{Decimal(value):,.0f} points"


def worth(of, value: Decimal | str) -> str:
    """`value` in the unit of `of` (a card or a program): points for a points program, money
    in its currency for any other."""
    return points(value) if of.kind == "points" else readable_money(value, of.currency)


def earned(card) -> str:
    return worth(card, card.points if card.kind == "points" else card.amount)


def percent(value: Decimal | None) -> str:
    """A fraction as a percentage to one place; a dash where there is none."""
    return "—" if value is None else f"{value * 100:,.1f}%"


FILTERS = {
    "money": readable_money,
    "points": points,
    "worth": worth,
    "earned": earned,
    "percent": percent,
}

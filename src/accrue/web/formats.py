"""Numbers as people read them on the portal: money with its currency, points as points."""

from __future__ import annotations

from decimal import Decimal

from accrue.domain.money import readable_money


def points(value: Decimal | int | str) -> str:
    return f"{Decimal(value).normalize():,f} points"


def worth(card, value: Decimal | str) -> str:
    """`value` in the card's unit: points for a points program, money for any other."""
    return points(value) if card.kind == "points" else readable_money(value, card.currency)


def earned(card) -> str:
    return worth(card, card.points if card.kind == "points" else card.amount)


FILTERS = {"money": readable_money, "points": points, "worth": worth, "earned": earned}

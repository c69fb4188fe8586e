"""Threshold calibration: where a segment's partners stand before a program, and thresholds
set a chosen lift above the segment's median — with the share that would qualify without
changing anything, and what paying them would cost. Most rebate money pays for volume that
would have happened anyway; this is how to see it before launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accrue.domain.errors import Refused
from accrue.domain.money import ZERO, round_half_up, round_money

PERCENTILES = (10, 25, 50, 75, 90)
DEFAULT_LIFTS = (Decimal("0.15"), Decimal("0.20"), Decimal("0.25"))


def percentile(values: list[Decimal], p: int) -> Decimal:
    """The p-th percentile by linear interpolation between closest ranks (as spreadsheets do:
    the median of 1..100 is 50.5)."""
    ordered = sorted(values)
    if not ordered:
        raise Refused("no values: a segment needs at least one partner")
    position = Decimal(p) / 100 * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Suggestion:
    lift: Decimal  # above the segment median
    threshold: Decimal
    qualifying_share: Decimal  # of the segment's partners, with no change in behaviour
    qualifying: int
    cost: Decimal  # if those partners were paid `rate` on their measure (for money measures)


@dataclass(frozen=True)
class SegmentCalibration:
    segment: str
    partners: int
    percentiles: dict[int, Decimal]
    suggestions: list[Suggestion]
    currency: str  # the program's: each suggestion's cost is in it


def calibrate(
    segment: str,
    measures: list[Decimal],
    rate: Decimal | None,
    currency: str,
    lifts: tuple[Decimal, ...] = DEFAULT_LIFTS,
) -> SegmentCalibration:
    """One segment: its distribution and a suggested threshold for each lift."""
    median = percentile(measures, 50)
    suggestions = []
    for lift in lifts:
        threshold = round_half_up(median * (1 + lift), 2)
        above = [m for m in measures if m >= threshold]
        cost = round_money(sum((m * rate for m in above), ZERO), currency) if rate else ZERO
        share = round_half_up(Decimal(len(above)) / len(measures), 4)
        suggestions.append(Suggestion(lift, threshold, share, len(above), cost))
    return SegmentCalibration(
        segment,
        len(measures),
        {p: round_half_up(percentile(measures, p), 2) for p in PERCENTILES},
        suggestions,
        currency,
    )

"""Calibrate a draft program's thresholds on a baseline period, segment by segment."""

from __future__ import annotations

from collections import defaultdict

from accrue.analytics.common import engine, over, segment_of
from accrue.domain.benefits import measure_of
from accrue.domain.calibration import DEFAULT_LIFTS, SegmentCalibration, calibrate
from accrue.domain.errors import Refused
from accrue.domain.periods import Period
from accrue.domain.program import Measure, Program
from accrue.store.books import Books


def calibrate_program(
    books: Books, program: Program, baseline: str, by: str = "segment", lifts=DEFAULT_LIFTS
) -> list[SegmentCalibration]:
    """Each segment's distribution of the program's measure in `baseline` (a period of the
    program's kind), with thresholds `lifts` above its median."""
    period = Period.parse(baseline)
    if period.kind is not program.period:
        raise Refused(f"baseline: {baseline} is not a {program.period.value}")
    running = engine(books)
    cells = running.cells(over(program, period))
    partners = {p.id: p for p in running.data.partners}
    measures: dict[str, list] = defaultdict(list)
    for (partner_id, cell_period), aggregate in sorted(cells.items()):
        if cell_period == period:
            measures[segment_of(partners.get(partner_id), by)].append(
                measure_of(program, aggregate)
            )
    rate = program.tiers[0].rate if program.measure is Measure.AMOUNT else None
    return [calibrate(segment, values, rate, lifts) for segment, values in sorted(measures.items())]

"""Did the program change behaviour? Enrolled partners against matched non-enrolled partners
over a baseline period and the program's period: net revenue, cross-category purchase rate
and off-season volume, difference in differences with a bootstrap interval, and the program's
return on what it cost (see accrue.domain.lift)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select

from accrue.analytics.common import engine
from accrue.domain.eligibility import partner_rollup
from accrue.domain.lift import LiftReport, Unit, measure_lift
from accrue.domain.money import ZERO
from accrue.domain.partners import PartnerTree
from accrue.domain.periods import Period
from accrue.domain.program import Multiplier
from accrue.store.books import Books
from accrue.store.tables import StandingRow

# Without off-season windows in the program, the off-season is the winter quarter's months.
WINTER = (Multiplier(name="winter", **{"from": "12-01", "to": "02-29", "factor": 1}),)


def lift(books: Books, program_id: str, baseline: str, after: str, **options) -> LiftReport:
    """Top parents enrolled in the program against those not enrolled, `baseline` vs `after`."""
    before, during = Period.parse(baseline), Period.parse(after)
    running = engine(books)
    with books.session() as session:
        program = books.program(session, program_id)
        cost = _cost(session, program_id, during)
    tree = PartnerTree(running.data.partners)
    enrolled = {tree.top(p) for p in partner_rollup(program, tree)}
    categories = {p.sku: p.category for p in running.data.products}
    windows = tuple(program.multipliers) or WINTER
    metrics = {
        label: _metrics(running, tree, period, categories, windows)
        for label, period in (("baseline", before), ("after", during))
    }
    # A program that enrols by segment (or region) has no control in that segment: match on
    # what did not decide enrolment, and say so.
    same_segment, same_region = not program.eligibility.segments, not program.eligibility.regions
    units = [
        Unit(
            top.id,
            top.id in enrolled,
            top.segment if same_segment else None,
            top.region if same_region else None,
            metrics["baseline"].get(top.id, _nothing()),
            metrics["after"].get(top.id, _nothing()),
        )
        for top in tree
        if top.parent_id is None
    ]
    report = measure_lift(units, cost, currency=program.currency, **options)
    across = [
        name for name, same in (("segments", same_segment), ("regions", same_region)) if not same
    ]
    if across:
        note = f"the program enrols by {' and '.join(across)}: controls were matched across them"
        report = replace(report, warnings=[*report.warnings, note])
    return report


def _cost(session, program_id: str, period: Period) -> Decimal:
    rows = session.scalars(select(StandingRow).where(StandingRow.program_id == program_id))
    return sum((Decimal(r.amount) for r in rows if Period.parse(r.period).within(period)), ZERO)


def _nothing() -> dict[str, Decimal]:
    return {"net_revenue": ZERO, "category_rate": ZERO, "off_season": ZERO}


def _metrics(running, tree, period: Period, categories, windows) -> dict[str, dict[str, Decimal]]:
    """Per top parent: net revenue, share of the catalog's categories bought, off-season revenue."""
    lines = running.data.lines
    rows = (
        lines.filter(
            (lines.date >= period.start)
            & (lines.date <= period.end)
            & lines.kind.isin(["sale", "return"])
        )
        .select("partner_id", "sku", "date", "amount_micros")
        .to_pyarrow()
        .to_pylist()
    )
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    off: dict[str, Decimal] = defaultdict(Decimal)
    bought: dict[str, set] = defaultdict(set)
    for row in rows:
        top = tree.top(row["partner_id"])
        amount = Decimal(row["amount_micros"]).scaleb(-6)
        revenue[top] += amount
        bought[top].add(categories.get(row["sku"]))
        if any(w.contains(row["date"]) for w in windows):
            off[top] += amount
    total = Decimal(len(set(categories.values()))) or Decimal(1)
    return {
        top: {
            "net_revenue": revenue[top],
            "category_rate": Decimal(len(bought[top])) / total,
            "off_season": off[top],
        }
        for top in revenue
    }

"""Run a draft program over a past period's real lines: what it would have cost, whom it would
have paid, by segment, and how the cost moves with each threshold."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from accrue.analytics.common import engine, segment_of
from accrue.domain.money import ZERO, round_half_up, round_money
from accrue.domain.periods import Period
from accrue.domain.program import Program
from accrue.store.books import Books

NUDGE = Decimal("0.10")  # how far each threshold is moved to see what it costs


@dataclass
class Totals:
    currency: str
    partners: int = 0
    qualifying: int = 0
    cost: Decimal = ZERO
    revenue: Decimal = ZERO

    def add(self, cost: Decimal, revenue: Decimal) -> None:
        self.partners += 1
        self.qualifying += cost > 0
        self.cost += cost
        self.revenue += round_money(revenue, self.currency)

    @property
    def cost_share(self) -> Decimal | None:
        return round_half_up(self.cost / self.revenue, 4) if self.revenue else None

    @property
    def cost_per_partner(self) -> Decimal | None:
        if not self.qualifying:
            return None
        return round_money(self.cost / self.qualifying, self.currency)


@dataclass
class Simulation:
    program: str
    period: str
    total: Totals
    segments: dict[str, Totals]
    sensitivity: list[tuple[str, Decimal, Decimal]] = field(
        default_factory=list
    )  # tier, new from, Δ cost


def simulate(
    books: Books, drafts: list[Program], period: str, by: str = "segment"
) -> list[Simulation]:
    """Each draft over `period`'s lines, as the engine would compute it once published."""
    label = Period.parse(period)
    running = engine(books)
    partners = {p.id: p for p in running.data.partners}
    return [_simulate(running, draft, label, partners, by) for draft in drafts]


def _cost(running, program: Program, period: Period) -> dict[str, Decimal]:
    result = running.run([program], as_of=period.end)
    return {s.partner_id: s.amount for s in result.for_program(program.id) if s.period == period}


def _simulate(running, draft: Program, period: Period, partners, by: str) -> Simulation:
    costs, cells = _cost(running, draft, period), running.cells(draft)
    found = Simulation(
        draft.id,
        period.label,
        Totals(draft.currency),
        defaultdict(lambda: Totals(draft.currency)),
    )
    for partner_id, cost in sorted(costs.items()):
        aggregate = cells.get((partner_id, period))
        revenue = aggregate.qualifying.amount if aggregate else ZERO
        found.total.add(cost, revenue)
        found.segments[segment_of(partners.get(partner_id), by)].add(cost, revenue)
    for index, tier in enumerate(draft.tiers):
        moved = [
            t.model_copy(update={"from_": t.from_ * (1 + NUDGE)}) if i == index else t
            for i, t in enumerate(draft.tiers)
        ]
        if not tier.from_ or (
            index + 1 < len(moved) and moved[index].from_ >= moved[index + 1].from_
        ):
            continue  # a threshold at zero does not move; one that would pass the next is left
        nudged = _cost(running, draft.model_copy(update={"tiers": moved}), period)
        delta = sum(nudged.values(), ZERO) - found.total.cost
        found.sensitivity.append((tier.name or f"Tier {index + 1}", moved[index].from_, delta))
    return found

"""A program as one page of plain language, with a worked example computed by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accrue.domain.catalog import Product
from accrue.domain.lines import Line, LineKind
from accrue.domain.money import readable_money, readable_percent, readable_price, round_money
from accrue.domain.partners import Partner
from accrue.domain.periods import Period
from accrue.domain.program import Base, Evaluation, Measure, Method, Program, Thresholds, Tier
from accrue.domain.standings import Standing
from accrue.engine import DataSet, Engine
from accrue.report import readable_gap

UNIT_PRICE = Decimal(10)
EXAMPLE_BASELINE = Decimal(1_000_000)
EXAMPLE_TOTAL = Decimal(100_000)
TYPICAL = {Measure.AMOUNT: Decimal(10_000), Measure.UNITS: Decimal(1_000)}  # with tier 1 at 0


def _list(values, nothing="all") -> str:
    return ", ".join(str(v) for v in values) if values else nothing


def _pct(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def _threshold(program: Program, tier: Tier) -> str:
    value = tier.from_
    if program.thresholds is Thresholds.BASELINE:
        return f"{_pct(value)} of the baseline {program.measure.value}"
    if program.measure is Measure.MIX_SHARE:
        return f"a {_pct(value)} share in the mix products"
    if program.measure is Measure.BREADTH:
        return f"{value:f} of {len(program.breadth.values)} product groups"  # type: ignore[union-attr]
    return in_unit(program, value)


def in_unit(program: Program, value: Decimal) -> str:
    """A measure as people read it: money with its currency, units, a share, product groups."""
    if program.measure is Measure.UNITS:
        return f"{value.normalize():,f} units"
    if program.measure is Measure.MIX_SHARE:
        return f"a {readable_percent(value)} share"
    if program.measure is Measure.BREADTH:
        return f"{value.normalize():f} product groups"
    return readable_money(value, program.currency)


def tier_name(program: Program, number: int) -> str:
    return program.tiers[number - 1].name or f"Tier {number}"


def _benefit(program: Program, tier: Tier) -> str:
    base = "growth over the baseline" if program.base is Base.GROWTH else "eligible purchases"
    parts = []
    if tier.rate is not None:
        parts.append(f"{_pct(tier.rate)} of {base}")
    if tier.per_unit is not None:
        parts.append(f"{readable_price(tier.per_unit, program.currency)} per unit")
    if tier.fixed is not None:
        parts.append(f"a lump sum of {readable_money(tier.fixed, program.currency)}")
    if tier.points:
        parts.append(f"{tier.points} bonus points")
    return " + ".join(parts)


def summary(program: Program) -> list[str]:
    rules = program.eligibility
    who = (
        "every partner"
        if not (rules.partners or rules.segments or rules.regions)
        else (
            f"partners {_list(rules.partners)}; segments {_list(rules.segments)}; "
            f"regions {_list(rules.regions)}"
        )
    )
    level = {0: "the top parent (branches roll up)", None: "each partner on its own"}.get(
        program.rollup_level, f"tree level {program.rollup_level}"
    )
    until = program.effective.to or "further notice"
    lines = [
        f"{program.name} ({program.ref}, {program.kind.value}, in {program.currency})",
        program.description,
        "",
        f"Who: {who}, measured at {level}.",
        f"What counts: {', '.join(k.value for k in rules.line_types)} lines dated "
        f"{program.effective.from_} to {until}; {_product_scope(rules)}.",
    ]
    if program.qualifying:
        lines.append(f"Tier measured on {_product_scope(program.qualifying)} instead.")
    if rules.exclude.partners or rules.exclude.skus or rules.exclude.categories:
        ex = rules.exclude
        lines.append(
            f"Never counted: partners {_list(ex.partners, 'none')}; SKUs {_list(ex.skus, 'none')}; "
            f"categories {_list(ex.categories, 'none')}; "
            f"product lines {_list(ex.product_lines, 'none')}."
        )
    lines.append(f"Measure: {program.measure.value}, per {program.period.value}.")
    method = (
        "the highest tier reached applies to everything (retroactive)"
        if program.method is Method.RETROACTIVE
        else "each tier's rate applies only to the part inside its band (incremental)"
    )
    lines.append(f"Tiers ({method}):")
    lines.extend(
        f"  - from {_threshold(program, t)}: {_benefit(program, t)}" for t in program.tiers
    )
    lines.extend(_extras(program))
    lines.append(_when_paid(program))
    return lines


def _product_scope(flt) -> str:
    """all products; or products with SKU A, in the category B or in the product lines C, D."""
    if flt.is_empty:
        return "all products"
    return "products " + " or ".join(
        f"{label if len(values) == 1 else plural} {_list(values)}"
        for label, plural, values in (
            ("with SKU", "with SKUs", flt.skus),
            ("in the category", "in the categories", flt.categories),
            ("in the product line", "in the product lines", flt.product_lines),
        )
        if values
    )


def _extras(program: Program) -> list[str]:
    extras = []
    for m in program.multipliers:
        extras.append(f"{m.name}: lines dated {m.from_} to {m.to} earn {m.factor:f}×.")
    if program.pro_rata_floor:
        extras.append(
            f"Pro rata: from {_pct(program.pro_rata_floor)} of tier 1, tier 1 pays in proportion."
        )
    if program.caps.per_partner_period is not None:
        extras.append(
            f"Cap: {readable_money(program.caps.per_partner_period, program.currency)} a "
            f"partner a {program.period.value}; the excess is reported."
        )
    if program.caps.budget_per_period is not None:
        extras.append(
            f"Budget: {readable_money(program.caps.budget_per_period, program.currency)} a "
            f"{program.period.value}, shared pro rata when exceeded."
        )
    if program.minimum_payout:
        extras.append(
            f"Minimum payout {readable_money(program.minimum_payout, program.currency)}: "
            "smaller amounts carry forward."
        )
    if program.exclusive_group:
        extras.append(f"Exclusive group {program.exclusive_group}: only the best program pays.")
    if program.points:
        extras.append(
            f"Points: {program.points.points} per whole "
            f"{readable_money(program.points.per_amount, program.currency)}."
        )
    return extras


def _when_paid(program: Program) -> str:
    if program.evaluation is Evaluation.PERIOD:
        return f"When: at the end of each {program.period.value}, on that {program.period.value}."
    scope = "year to date" if program.evaluation is Evaluation.YEAR_TO_DATE else "since the start"
    return (
        f"When: each {program.period.value}, tiers are evaluated on purchases {scope}; the payout "
        "is what is earned so far less what was already paid (a negative is a clawback)."
    )


@dataclass(frozen=True)
class Scenario:
    label: str
    partner: str
    result: str


@dataclass(frozen=True)
class _Case:
    label: str
    target: Decimal  # the measure the example partner's purchases reach
    day: date  # the day they are dated


def worked_example(program: Program) -> list[Scenario]:
    """Computed by the engine over one period: a typical partner, the same purchases dated in
    each multiplier window, then a partner just below the first tier and one reaching each
    tier — each with what it earns and what the next tier would take and pay."""
    day = _plain_day(program)
    period = Period.containing(program.period, day)
    cases = _cases(program, period, day)
    partners, lines, products = [], [], _example_products(program)
    for n, case in enumerate(cases, 1):
        partner = Partner(
            f"EX{n}",
            case.label,
            segment=_first(program.eligibility.segments),
            region=_first(program.eligibility.regions),
        )
        partners.append(partner)
        lines.extend(_example_lines(program, partner.id, case.day, case.target, products))
    enrolled = program.model_copy(
        update={"eligibility": program.eligibility.model_copy(update={"partners": []})}
    )
    data = DataSet.from_lines(lines, partners=partners, products=list(products.values()))
    result = Engine(data).run([enrolled], as_of=period.end)
    return [
        Scenario(p.name, p.id, _outcome(program, result.get(program.id, p.id, period.label)))
        for p in partners
    ]


def _plain_day(program: Program) -> date:
    """The first day the program runs outside every multiplier window."""
    day = program.effective.from_
    for _ in range(366):
        if not any(m.contains(day) for m in program.multipliers):
            return day
        day += timedelta(days=1)
    return program.effective.from_


def _cases(program: Program, period: Period, day: date) -> list[_Case]:
    typical = _typical(program)
    cases = [_Case(f"a typical {program.period.value}", typical, day)]
    for m in program.multipliers:
        inside = _day_in(program, period, m)
        if inside is not None:
            label = f"the same purchases dated {inside}, in {m.name} ({m.factor.normalize():f}×)"
            cases.append(_Case(label, typical, inside))
    first = program.tiers[0].from_
    if first > 0:
        cases.append(_Case(f"just below {tier_name(program, 1)}", Decimal("0.9") * first, day))
    cases += [
        _Case(f"reaching {tier_name(program, n)}", t.from_, day)
        for n, t in enumerate(program.tiers, 1)
        if t.from_ > 0
    ]
    return cases


def _typical(program: Program) -> Decimal:
    """Between the first two tiers, half again the only one, or a round figure when it is 0."""
    tiers = [t.from_ for t in program.tiers]
    if len(tiers) > 1:
        return (tiers[0] + tiers[1]) / 2
    return tiers[0] * Decimal("1.5") or TYPICAL.get(program.measure, Decimal(1))


def _day_in(program: Program, period: Period, window) -> date | None:
    """The first day of `period` (while the program runs) that `window` is the first to match."""
    day = max(period.start, program.effective.from_)
    while day <= period.end:
        if next((m for m in program.multipliers if m.contains(day)), None) is window:
            return day
        day += timedelta(days=1)
    return None


def _outcome(program: Program, s: Standing) -> str:
    paid = (
        f"{s.points:,} points"
        if program.kind.value == "points"
        else readable_money(s.amount, s.currency)
    )
    measured = in_unit(program, s.measure or Decimal(0))
    said = f"measure {measured} → {s.tier_name or 'no tier'}, earns {paid}"
    if s.gap is None:
        return said
    to_go = readable_gap(s.gap.needed, s.gap.unit, s.currency)
    said += f"; {to_go} more reaches {s.gap.tier_name or tier_name(program, s.gap.tier)}"
    if s.gap.would_pay is not None and program.kind.value != "points":
        said += f", which pays {readable_money(s.gap.would_pay, s.currency)}"
    return said


def _first(values):
    return values[0] if values else None


def _example_products(program: Program) -> dict[str, Product]:
    rules = program.eligibility
    category, line = _first(rules.categories) or "Example", _first(rules.product_lines) or "Example"
    uom = program.unit.name if program.unit else "EA"
    main = Product(_first(rules.skus) or "EX-SKU", "Example product", category, line, uom)
    products = {"main": main}
    if program.mix:
        mix = program.mix
        products["mix"] = Product(
            _first(mix.skus) or "EX-MIX",
            "Mix product",
            _first(mix.categories) or category,
            _first(mix.product_lines) or line,
        )
    if program.breadth:
        for i, value in enumerate(program.breadth.values):
            dims = {"category": category, "product_line": line, program.breadth.dimension: value}
            products[f"bucket{i}"] = Product(
                f"EX-B{i}", value, dims["category"], dims["product_line"]
            )
    return products


def _example_lines(program, partner, day: date, target: Decimal, products) -> list[Line]:
    def sale(sku, amount, quantity=Decimal(1), on=day, n=1):
        return Line(
            "example",
            f"{partner}-{on.year}",
            n,
            LineKind.SALE,
            partner,
            sku,
            on,
            quantity,
            round_money(amount, program.currency),
            program.currency,
        )

    if program.thresholds is Thresholds.BASELINE:
        last_year = day.replace(year=day.year - 1)
        return [
            sale(products["main"].sku, EXAMPLE_BASELINE, on=last_year),
            sale(products["main"].sku, EXAMPLE_BASELINE * target),
        ]
    if program.measure is Measure.UNITS:
        units = target.to_integral_value()
        return [sale(products["main"].sku, units * UNIT_PRICE, units)]
    if program.measure is Measure.MIX_SHARE:
        mix = round_money(EXAMPLE_TOTAL * target, program.currency)
        return [
            sale(products["main"].sku, EXAMPLE_TOTAL - mix),
            sale(products["mix"].sku, mix, n=2),
        ]
    if program.measure is Measure.BREADTH:
        count = int(target)
        each = program.breadth.min_each or Decimal(1)
        return [sale(f"EX-B{i}", each, n=i + 1) for i in range(count)] or [
            sale(products["main"].sku, each)
        ]
    return [sale(products["main"].sku, target)]


def explain(program: Program) -> str:
    page = summary(program)
    page += ["", f"Worked example (computed by the engine over one {program.period.value}):"]
    page += [f"  - {s.label}: {s.result}" for s in worked_example(program)]
    return "\n".join(page)

"""A program as one page of plain language, with a worked example computed by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accrue.domain.catalog import Product
from accrue.domain.lines import Line, LineKind
from accrue.domain.money import readable_money, readable_price, round_money
from accrue.domain.partners import Partner
from accrue.domain.periods import Period
from accrue.domain.program import Base, Evaluation, Measure, Method, Program, Thresholds, Tier
from accrue.engine import DataSet, Engine

UNIT_PRICE = Decimal(10)
EXAMPLE_BASELINE = Decimal(1_000_000)
EXAMPLE_TOTAL = Decimal(100_000)


def _list(values, nothing="all") -> str:
    return ", ".join(str(v) for v in values) if values else nothing


def _pct(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def _threshold(program: Program, tier: Tier) -> str:
    value = tier.from_
    if program.thresholds is Thresholds.BASELINE:
        return f"{_pct(value)} of the baseline {program.measure.value}"
    if program.measure is Measure.UNITS:
        return f"{value:,f} units"
    if program.measure is Measure.MIX_SHARE:
        return f"a {_pct(value)} share in the mix products"
    if program.measure is Measure.BREADTH:
        return f"{value:f} of {len(program.breadth.values)} product groups"  # type: ignore[union-attr]
    return readable_money(value, program.currency)


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
        f"{program.effective.from_} to {until}; products {_product_scope(rules)}.",
    ]
    if program.qualifying:
        lines.append(f"Tier measured on products {_product_scope(program.qualifying)} instead.")
    if rules.exclude.partners or rules.exclude.skus or rules.exclude.categories:
        ex = rules.exclude
        lines.append(
            f"Never counted: partners {_list(ex.partners, 'none')}; SKUs {_list(ex.skus, 'none')}; "
            f"categories {_list(ex.categories, 'none')}; lines {_list(ex.product_lines, 'none')}."
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
    if flt.is_empty:
        return "all"
    return "; ".join(
        f"{label} {_list(values)}"
        for label, values in (
            ("SKUs", flt.skus),
            ("categories", flt.categories),
            ("lines", flt.product_lines),
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


def worked_example(program: Program) -> list[Scenario]:
    """One partner just below tier 1 and one exactly at each tier, run through the engine."""
    period = Period.containing(program.period, program.effective.from_)
    day = max(period.start, program.effective.from_)
    targets = [("just below tier 1", Decimal("0.9") * program.tiers[0].from_)]
    targets += [(f"exactly at tier {i}", t.from_) for i, t in enumerate(program.tiers, 1)]
    partners, lines, products = [], [], _example_products(program)
    for n, (label, target) in enumerate(targets, 1):
        partner = Partner(
            f"EX{n}",
            label,
            segment=_first(program.eligibility.segments),
            region=_first(program.eligibility.regions),
        )
        partners.append(partner)
        lines.extend(_example_lines(program, partner.id, day, target, products))
    enrolled = program.model_copy(
        update={"eligibility": program.eligibility.model_copy(update={"partners": []})}
    )
    data = DataSet.from_lines(lines, partners=partners, products=list(products.values()))
    result = Engine(data).run([enrolled], as_of=period.end)
    scenarios = []
    for partner in partners:
        s = result.get(program.id, partner.id, period.label)
        paid = (
            f"{s.points} points"
            if program.kind.value == "points"
            else readable_money(s.amount, program.currency)
        )
        tier = s.tier_name or "no tier"
        scenarios.append(
            Scenario(
                partner.name,
                partner.id,
                f"measure {s.measure.normalize():,f} → {tier}, earns {paid}",
            )
        )
    return scenarios


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
    page += ["", f"Worked example (computed by the engine, first {program.period.value}):"]
    page += [f"  - {s.label}: {s.result}" for s in worked_example(program)]
    return "\n".join(page)

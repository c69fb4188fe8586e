"""Which partners take part (and at which level they are measured) and what each product does
for a program. Both engines use these maps, so eligibility is decided in this one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from accrue.domain.catalog import Product
from accrue.domain.errors import Refused
from accrue.domain.partners import PartnerTree
from accrue.domain.program import Measure, ProductFilter, Program


@dataclass(frozen=True)
class ProductRole:
    """`earns`: its lines are the base; `qualifies`: they count toward the tier;
    `in_mix`: part of the mix slice; `bucket`: its breadth bucket, or -1; `unit_factor`: program
    units in one of the product's units (rule 16)."""

    earns: bool
    qualifies: bool
    in_mix: bool
    bucket: int
    unit_factor: Fraction = Fraction(1)


class MissingConversion(Refused):
    pass


def _matches(flt: ProductFilter, product: Product) -> bool:
    return flt.is_empty or (
        product.sku in flt.skus
        or product.category in flt.categories
        or product.product_line in flt.product_lines
    )


def _excluded(program: Program, product: Product) -> bool:
    ex = program.eligibility.exclude
    return (
        product.sku in ex.skus
        or product.category in ex.categories
        or product.product_line in ex.product_lines
    )


def product_roles(program: Program, products: Iterable[Product]) -> dict[str, ProductRole]:
    """Only products that earn or qualify are listed; every other product does nothing."""
    roles = {}
    for product in products:
        if _excluded(program, product):
            continue
        earns = _matches(program.eligibility, product)
        qualifies = _matches(program.measured_products, product)
        if not (earns or qualifies):
            continue
        in_mix = program.mix is not None and qualifies and _matches(program.mix, product)
        bucket = _bucket(program, product)
        roles[product.sku] = ProductRole(earns, qualifies, in_mix, bucket, _unit(program, product))
    return roles


def _unit(program: Program, product: Product) -> Fraction:
    if program.unit is None:
        return Fraction(1)
    factor = program.unit.factor(product.uom)
    if factor is None:
        raise MissingConversion(
            f"program {program.id} measures in {program.unit.name} but {product.sku} is sold "
            f"in {product.uom}: add {product.uom} to unit.conversions"
        )
    return factor


def _bucket(program: Program, product: Product) -> int:
    if program.measure is not Measure.BREADTH or program.breadth is None:
        return -1
    value = getattr(product, program.breadth.dimension)
    return program.breadth.values.index(value) if value in program.breadth.values else -1


def partner_rollup(
    program: Program, tree: PartnerTree, among: Iterable[str] | None = None
) -> dict[str, str]:
    """Enrolled partner (of `among`, if given) → the partner it is measured as (its ancestor
    at the roll-up level).

    A partner is enrolled when it or an ancestor is named (or no one is), its segment and
    region (inherited from the nearest ancestor that has one) match, and neither it nor an
    ancestor is excluded.
    """
    rules = program.eligibility
    named, excluded = set(rules.partners), set(rules.exclude.partners)
    enrolled = {}
    for partner_id in sorted(among) if among is not None else (p.id for p in tree):
        path = set(tree.path(partner_id))
        if (named and not path & named) or path & excluded:
            continue
        if rules.segments and tree.inherited(partner_id, "segment") not in rules.segments:
            continue
        if rules.regions and tree.inherited(partner_id, "region") not in rules.regions:
            continue
        enrolled[partner_id] = tree.rollup(partner_id, program.rollup_level)
    return enrolled


def counts_on(program: Program, day: date) -> bool:
    """A line counts when dated in the effective window, or in the same window a year
    earlier when the program compares with a baseline (rule 5)."""
    if program.effective.contains(day):
        return True
    return program.needs_baseline and program.effective.contains(_year_later(day))


def _year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def window_index(program: Program, day: date) -> int:
    """The first multiplier window containing the day, or -1."""
    for i, multiplier in enumerate(program.multipliers):
        if multiplier.contains(day):
            return i
    return -1

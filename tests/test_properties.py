"""Invariants over random data (Hypothesis): the plan agrees with the reference engine,
attributions sum to the cent, and order, splitting and extra sales behave."""

from __future__ import annotations

import csv
import itertools
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from conftest import PARTNERS, PRODUCTS, program, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accrue.domain.fx import FxRate, FxTable
from accrue.domain.lines import Line, LineKind
from accrue.domain.partners import PartnerTree
from accrue.engine import DataSet, Engine
from accrue.engine.reference import reference_attribution, reference_cells
from accrue.ingest.dataset import load_directory
from accrue.ingest.lines import LINE_COLUMNS

RATES = [
    FxRate(date(2024, 12, 1), "EUR", "USD", Decimal("1.083421")),
    FxRate(date(2025, 9, 1), "EUR", "USD", Decimal("1.1702")),
    FxRate(date(2024, 12, 1), "USD", "EUR", Decimal("0.9231")),
]

HEADER = "effective: {from: 2026-01-01, to: 2026-12-31}\n"
PROGRAMS = [
    program(
        f"id: retro\nname: Retro\n{HEADER}measure: units\n"
        "tiers: [{from: 50, rate: 2%}, {from: 400, rate: 3.5%}, {from: 900, per_unit: 0.75}]"
    ),
    program(
        f"id: stepped\nname: Stepped\n{HEADER}method: incremental\n"
        "tiers: [{from: 0, rate: 1%}, {from: 20000, rate: 2.5%}, {from: 60000, rate: 4%}]"
    ),
    program(
        f"id: growth\nname: Growth\n{HEADER}thresholds: baseline\nbase: growth\n"
        "rollup: self\ntiers: [{from: 105%, rate: 3%}, {from: 125%, rate: 5%}]"
    ),
    program(
        f"id: mix\nname: Mix\n{HEADER}measure: mix_share\nmix: {{product_lines: [Smart]}}\n"
        "exclusive_group: bonus\ntiers: [{from: 10%, rate: 2%}, {from: 30%, rate: 3%}]"
    ),
    program(
        f"id: breadth\nname: Breadth\n{HEADER}measure: breadth\nexclusive_group: bonus\n"
        "breadth: {values: [Valves, Pumps, Meters], min_each: 3000}\n"
        "tiers: [{from: 2, rate: 0.5%}, {from: 3, rate: 1.5%, fixed: 99.99}]"
    ),
    program(
        f"id: seasonal\nname: Seasonal\n{HEADER}evaluation: year_to_date\n"
        "multipliers: [{name: Winter, from: 11-15, to: 02-10, factor: 1.25}]\n"
        "caps: {per_partner_period: 900}\nminimum_payout: 75\n"
        "qualifying: {product_lines: [Valves, Pumps, Meters, Smart]}\n"
        "eligibility: {product_lines: [Valves], line_types: [sale, return, pos]}\n"
        "tiers: [{from: 10000, rate: 1.7%}, {from: 40000, rate: 2.9%}]"
    ),
    program(
        f"id: euro\nname: Euro\ncurrency: EUR\n{HEADER}period: half\n"
        "caps: {budget_per_period: 1500}\npro_rata_floor: 80%\n"
        "tiers: [{from: 25000, rate: 3%}]"
    ),
]

partner_ids = [p.id for p in PARTNERS]
skus = [p.sku for p in PRODUCTS]


@st.composite
def lines_strategy(draw, min_size=0, max_size=40, currencies=("USD", "USD", "USD", "USD", "EUR")):
    count = draw(st.integers(min_size, max_size))
    lines = []
    for n in range(count):
        kind = draw(st.sampled_from([LineKind.SALE] * 6 + [LineKind.RETURN, LineKind.POS]))
        sign = -1 if kind is LineKind.RETURN else 1
        cents = draw(st.integers(1, 2_500_000))
        lines.append(
            Line(
                source=draw(st.sampled_from(["erp", "edi"])),
                document=f"D{draw(st.integers(1, 9))}",
                line_no=n + 1,
                kind=kind,
                partner_id=draw(st.sampled_from(partner_ids)),
                sku=draw(st.sampled_from(skus)),
                date=date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 729))),
                quantity=sign * Decimal(draw(st.integers(1, 300))),
                amount=sign * Decimal(cents).scaleb(-2),
                currency=draw(st.sampled_from(currencies)),
            )
        )
    return lines


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(lines):
    return run(PROGRAMS, lines, fx_rates=RATES)


@FAST
@given(lines_strategy())
def test_relational_plan_matches_the_reference_engine(lines):
    data = DataSet.from_lines(lines, partners=PARTNERS, products=PRODUCTS, fx_rates=RATES)
    engine = Engine(data)
    for prog in PROGRAMS:
        expected = reference_cells(prog, PartnerTree(PARTNERS), PRODUCTS, FxTable(RATES), lines)
        assert engine.cells(prog) == expected, prog.id


@FAST
@given(lines_strategy(min_size=1))
def test_attributions_sum_exactly_to_each_standing(lines):
    result = _run(lines)
    for standing in result.standings:
        shares = result.attribute(standing)
        assert sum((a.share for a in shares), Decimal(0)) == standing.amount, standing.key


@FAST
@given(lines_strategy(), st.randoms(use_true_random=False))
def test_line_and_program_order_change_nothing(lines, rnd):
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    programs = list(PROGRAMS)
    rnd.shuffle(programs)
    assert run(programs, shuffled, fx_rates=RATES).standings == _run(lines).standings


def _write_lines(path: Path, lines) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(LINE_COLUMNS)
        for x in lines:
            out.writerow(
                [
                    x.source,
                    x.document,
                    x.line_no,
                    x.kind.value,
                    x.partner_id,
                    x.sku,
                    x.date,
                    x.quantity,
                    x.amount,
                    x.currency,
                ]
            )


def _folder(root: Path, parts) -> Path:
    root.mkdir()
    with (root / "partners.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "name", "parent_id", "segment", "region"])
        for p in PARTNERS:
            out.writerow([p.id, p.name, p.parent_id or "", p.segment or "", p.region or ""])
    with (root / "products.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["sku", "name", "category", "product_line"])
        out.writerows([p.sku, p.name, p.category, p.product_line] for p in PRODUCTS)
    with (root / "fx.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["valid_from", "from_currency", "to_currency", "rate"])
        out.writerows([r.valid_from, r.from_currency, r.to_currency, r.rate] for r in RATES)
    (root / "lines").mkdir()
    for i, part in enumerate(parts):
        _write_lines(root / "lines" / f"part-{i}.csv", part)
    return root


@settings(max_examples=10, deadline=None)
@given(lines_strategy(min_size=1), st.lists(st.integers(0, 40), max_size=3))
def test_splitting_the_line_file_changes_nothing(lines, cuts):
    bounds = sorted({0, len(lines), *(c % (len(lines) + 1) for c in cuts)})
    parts = [lines[a:b] for a, b in itertools.pairwise(bounds)]
    with tempfile.TemporaryDirectory() as tmp:
        whole = Engine(load_directory(_folder(Path(tmp) / "whole", [lines])))
        split = Engine(load_directory(_folder(Path(tmp) / "split", parts)))
        assert whole.run(PROGRAMS).standings == split.run(PROGRAMS).standings


@FAST
@given(lines_strategy(), st.sampled_from(partner_ids), st.integers(1, 5000), st.integers(0, 364))
def test_a_qualifying_sale_never_lowers_a_retroactive_tier(lines, partner, units, day):
    retro = PROGRAMS[0]
    extra = Line(
        "test",
        "EXTRA",
        1,
        LineKind.SALE,
        partner,
        "V-100",
        date(2026, 1, 1) + timedelta(days=day),
        Decimal(units),
        Decimal(units) * 10,
        "USD",
    )
    before = {s.key: s.tier for s in run([retro], lines, fx_rates=RATES).standings}
    after = run([retro], [*lines, extra], fx_rates=RATES).standings
    for standing in after:
        assert standing.tier >= before.get(standing.key, 0)


@FAST
@given(lines_strategy(min_size=1))
def test_attributions_in_the_plan_match_the_decimal_allocation(lines):
    result = _run(lines)
    for standing in result.standings:
        if standing.amount:
            shares = {
                (a.source, a.document, a.line_no): a.share for a in result.attribute(standing)
            }
            assert shares == reference_attribution(result, standing, lines), standing.key

"""Mechanics beyond the worked examples: units of measure, guarantees, stacking, budgets,
eligibility, qualifying vs earning lines, currency, funds and validation messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from conftest import PRODUCTS, line, program, run

from accrue.domain.catalog import Product
from accrue.domain.eligibility import MissingConversion
from accrue.domain.fx import FxRate
from accrue.domain.lines import LineKind
from accrue.domain.program import ProgramError
from accrue.engine.plan import MissingRateError

YEAR = "effective: {from: 2026-01-01, to: 2026-12-31}\nperiod: year\n"


def test_units_convert_to_the_programs_unit_exactly():
    rules = program(f"""id: cases
name: Cases
{YEAR}measure: units
unit: {{name: CS, conversions: {{EA: 1/12}}}}
tiers: [{{from: 100, per_unit: 2.00}}]
""")
    products = [
        *PRODUCTS,
        Product("EA-1", "Loose valve", "Gate valves", "Valves", uom="EA"),
        Product("CS-1", "Case of valves", "Gate valves", "Valves", uom="CS"),
    ]
    lines = [
        line("CORE", date(2026, 3, 1), "6000", 600, sku="EA-1"),  # 50 cases
        line("CORE", date(2026, 3, 2), "6000", 50, sku="CS-1"),
    ]
    standing = run([rules], lines, products=products).standings[0]
    assert standing.measure == 100
    assert standing.amount == D("200.00")


def test_a_missing_unit_conversion_is_an_error_not_a_zero():
    rules = program(f"""id: cases
name: Cases
{YEAR}measure: units
unit: {{name: CS}}
tiers: [{{from: 1, per_unit: 1}}]
""")
    products = [Product("KG-1", "Bulk", "Gate valves", "Valves", uom="KG")]
    with pytest.raises(MissingConversion, match="KG-1 is sold in KG"):
        run([rules], [line("CORE", date(2026, 3, 1), "10", sku="KG-1")], products=products)


@pytest.mark.parametrize(
    ("cumulative", "expected"), [(False, ["400.00", "250.00"]), (True, ["400.00", "100.00"])]
)
def test_guaranteed_minimum(cumulative, expected):
    rules = program(f"""id: floor
name: Guaranteed
effective: {{from: 2026-01-01, to: 2026-06-30}}
guarantee: {{per_period: 250, cumulative: {str(cumulative).lower()}}}
tiers: [{{from: 0, rate: 1%}}]
""")
    lines = [line("CORE", date(2026, 1, 5), "40000"), line("CORE", date(2026, 4, 5), "10000")]
    result = run([rules], lines)
    assert [str(s.amount) for s in result.standings] == expected
    topped_up = "" if cumulative else "guaranteed minimum applied"
    assert result.standings[1].note == topped_up


def test_exclusive_group_pays_only_the_best_and_says_why():
    volume = program(
        f"id: volume\nname: V\n{YEAR}exclusive_group: g\ntiers: [{{from: 0, rate: 2%}}]"
    )
    growth = program(
        f"id: loyalty\nname: L\n{YEAR}exclusive_group: g\ntiers: [{{from: 0, rate: 3%}}]"
    )
    result = run([volume, growth], [line("CORE", date(2026, 5, 1), "1000")])
    assert result.get("loyalty", "CORE", "2026").payout == D("30.00")
    loser = result.get("volume", "CORE", "2026")
    assert (loser.payout, loser.status) == (D("0.00"), "excluded")
    assert "loyalty pays more" in loser.note


def test_budget_is_shared_pro_rata_to_the_cent():
    rules = program(
        f"id: budget\nname: B\n{YEAR}rollup: self\ncaps: {{budget_per_period: 100}}\n"
        "tiers: [{from: 0, rate: 10%}]"
    )
    lines = [line(p, date(2026, 5, 1), "1000") for p in ("BOLT", "CORE", "ACME")]
    result = run([rules], lines)
    amounts = sorted(s.amount for s in result.standings)
    assert amounts == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(s.cap_excess for s in result.standings) == D("200.00")


def test_eligibility_by_segment_region_and_exclusions():
    rules = program(f"""id: gold
name: Gold NA
{YEAR}rollup: self
eligibility:
  segments: [Gold]
  regions: [NA]
  exclude: {{partners: [ACME-2], product_lines: [Pumps]}}
tiers: [{{from: 0, rate: 10%}}]
""")
    lines = [
        line("ACME-1", date(2026, 5, 1), "100"),  # branch inherits Gold / NA
        line("ACME-2", date(2026, 5, 1), "100"),  # excluded partner
        line("ACME-1", date(2026, 5, 1), "100", sku="P-200"),  # excluded product line
        line("BOLT", date(2026, 5, 1), "100"),  # Silver, EU
    ]
    result = run([rules], lines)
    assert [(s.partner_id, s.amount) for s in result.standings] == [("ACME-1", D("10.00"))]


def test_qualifying_and_earning_lines_differ():
    rules = program(f"""id: smart
name: Smart launch
{YEAR}qualifying: {{product_lines: [Valves, Pumps, Meters, Smart]}}
eligibility: {{product_lines: [Smart]}}
tiers: [{{from: 10000, rate: 5%}}]
""")
    lines = [
        line("CORE", date(2026, 5, 1), "9000"),
        line("CORE", date(2026, 5, 2), "1000", sku="N-400"),
    ]
    standing = run([rules], lines).standings[0]
    assert (standing.measure, standing.amount) == (D("10000"), D("50.00"))


def test_foreign_lines_convert_at_the_rate_of_their_date():
    rates = [
        FxRate(date(2026, 1, 1), "EUR", "USD", D("1.10")),
        FxRate(date(2026, 6, 1), "EUR", "USD", D("1.20")),
    ]
    rules = program(f"id: fx\nname: FX\n{YEAR}tiers: [{{from: 0, rate: 10%}}]")
    lines = [
        line("CORE", date(2026, 5, 31), "100", currency="EUR"),
        line("CORE", date(2026, 6, 1), "100", currency="EUR"),
    ]
    standing = run([rules], lines, fx_rates=rates).standings[0]
    assert (standing.measure, standing.amount) == (D("230"), D("23.00"))
    with pytest.raises(MissingRateError, match="no GBP→USD exchange rate on or before 2026-03-03"):
        run([rules], [line("CORE", date(2026, 3, 3), "1", currency="GBP")], fx_rates=rates)


def test_fund_accrual_is_computed_like_a_rate():
    rules = program("""id: mdf
name: MDF
kind: fund
effective: {from: 2026-01-01, to: 2026-03-31}
tiers: [{from: 0, rate: 2%}]
""")
    standing = run([rules], [line("CORE", date(2026, 2, 1), "400000")]).standings[0]
    assert (standing.kind.value, standing.amount) == ("fund", D("8000.00"))


def test_projection_runs_the_rate_to_period_end():
    rules = program("""id: proj
name: Projection
effective: {from: 2026-01-01, to: 2026-12-31}
tiers: [{from: 0, rate: 1%}, {from: 20000, rate: 2%}]
""")
    standing = run([rules], [line("CORE", date(2026, 1, 10), "9000")], as_of=date(2026, 2, 14))
    # 45 of 90 days elapsed: the run rate doubles the measure and reaches the second tier.
    assert standing.standings[0].projection.measure == D("18000")
    assert standing.standings[0].projection.tier == 1
    assert standing.standings[0].projection.amount == D("180.00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("measure: amount", "measure: mix_share"), "measure mix_share needs a `mix:` section"),
        (("rate: 4%", "rate: 104%"), "outside 0%–100%"),
        (("{from: 0", "{from: -1"), "cannot be negative"),
        (("to: 2026-12-31", "to: 2025-12-31"), "is before effective.from"),
        (("period: quarter", "period: week"), "period: Input should be 'month'"),
        (("id: ok", "id: Not OK"), "id: String should match pattern"),
        (("tiers:", "tiers: []\nx:"), "x: Extra inputs are not permitted"),
        (("{from: 0", "{from: .inf"), r"tiers\.0\.from: '\.inf' is not a number"),
        (("rate: 4%", "rate: .nan"), r"tiers\.0\.rate: '\.nan' is not a number"),
        (("rate: 4%", "rate: 4%, fixed: -.inf"), r"tiers\.0\.fixed: '-\.inf' is not a number"),
        (("rate: 4%", "rate: 4%, fixed: 1.0e+400"), r"tiers\.0\.fixed: '1\.0e\+400' is too large"),
        (("rate: 4%", "rate: 1e-400"), r"tiers\.0\.rate: '1e-400' has more than 12 decimal"),
        # what YAML itself cannot read is refused like any other value, not raised from it
        (("to: 2026-12-31", "to: 2026-02-30"), r"effective\.to: .*day value is outside"),
        (("to: 2026-12-31", "to: 2026-13-01T10:00:00"), r"effective\.to: .*month value is"),
        (("{from: 0", "{from: " + "9" * 5000), r"tiers\.0\.from: '9+ has too many digits"),
        (("{from: 0", "{from: !!int abc"), r"tiers\.0\.from: 'abc' is not a number"),
        (("period: quarter", "period: !!bool maybe"), "period: Input should be 'month'"),
    ],
)
def test_validation_names_the_field(change, message):
    text = """id: ok
name: OK
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
measure: amount
tiers:
  - {from: 0, rate: 4%}
"""
    with pytest.raises(ProgramError, match=message):
        program(text.replace(*change))


def test_a_program_nested_too_deeply_for_yaml_to_read_is_refused():
    with pytest.raises(ProgramError, match="document: not valid YAML: nested too deeply"):
        program("[" * 100_000)


def test_what_the_next_tier_pays_is_not_lost_to_a_rounding_hair():
    rules = program(f"id: hair\nname: Hair\n{YEAR}tiers: [{{from: 25000, rate: 1%}}]")
    lines = [line("CORE", date(2026, 5, 1), "23035.06")]
    gap = run([rules], lines).standings[0].gap
    assert (gap.needed, gap.would_pay) == (D("1964.94"), D("250.00"))


def test_a_mix_gap_from_nothing_is_one_cent():
    rules = program(
        f"id: mix\nname: Mix\n{YEAR}measure: mix_share\nmix: {{product_lines: [Smart]}}\n"
        "tiers: [{from: 10%, rate: 2%}]"
    )
    lines = [
        line("CORE", date(2026, 5, 1), "100"),
        line("CORE", date(2026, 5, 2), "-100", -1, kind=LineKind.RETURN),
    ]
    assert run([rules], lines).standings[0].gap.needed == D("0.01")

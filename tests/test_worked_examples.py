"""E1–E12 and E16–E18 of docs/rebate-semantics.md, exact to the cent, through the public API:
program documents in, Engine out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from conftest import line, program, run

from accrue.domain.lines import LineKind
from accrue.domain.reps import SalesRep

YEAR = "effective: {from: 2026-01-01, to: 2026-12-31}"


def test_e1_branches_roll_up_to_the_parent():
    rules = """
id: e1
name: Volume
{year}
rollup: {rollup}
measure: units
tiers: [{{from: 10000, rate: 4%}}]
"""
    units = [2500, 3000, 2000, 2600]
    lines = [
        line(f"ACME-{i}", date(2026, 2, i), D(q) * D("12.50"), q) for i, q in enumerate(units, 1)
    ]
    at_parent = run([program(rules.format(year=YEAR, rollup="top"))], lines)
    standing = at_parent.get("e1", "ACME", "2026-Q1")
    assert standing.measure == 10100
    assert standing.amount == D("5050.00")
    per_branch = run([program(rules.format(year=YEAR, rollup="self"))], lines)
    assert sum(s.amount for s in per_branch.standings) == D("0.00")
    assert {s.partner_id for s in per_branch.standings} == {f"ACME-{i}" for i in range(1, 5)}


E2 = f"""
id: e2
name: Tier table
{YEAR}
measure: units
tiers:
  - {{from: 5000, rate: 2%}}
  - {{from: 10001, rate: 4%}}
  - {{from: 25001, rate: 6%}}
"""


def _units_at_ten(units: int):
    return [line("CORE", date(2026, 1, 15), D(units) * 10, units)]


def test_e2_retroactive_tier_table():
    assert run([program(E2)], _units_at_ten(30000)).standings[0].amount == D("18000.00")
    assert run([program(E2)], _units_at_ten(4999)).standings[0].amount == D("0.00")
    at_10000 = run([program(E2)], _units_at_ten(10000)).standings[0]
    assert at_10000.amount == D("2000.00")
    assert at_10000.gap.needed == 1
    assert at_10000.gap.would_pay == D("4000.40")


E3 = E2.replace("id: e2", "id: e3").replace("10001", "10000").replace("25001", "25000")
E3 += "method: incremental\n"


def test_e3_incremental_tiers():
    assert run([program(E3)], _units_at_ten(30000)).standings[0].amount == D("10000.00")


E4 = """
id: e4
name: Growth
effective: {from: 2026-01-01, to: 2026-03-31}
thresholds: baseline
base: growth
tiers: [{from: 115%, rate: 3%}]
"""


def _growth(baseline: str, current: str):
    lines = [line("CORE", date(2026, 2, 1), current)]
    if baseline != "0":
        lines.append(line("CORE", date(2025, 2, 1), baseline))
    return run([program(E4)], lines).get("e4", "CORE", "2026-Q1")


def test_e4_growth_over_same_period_last_year():
    assert _growth("1000000", "1200000").amount == D("6000.00")
    short = _growth("1000000", "1140000")
    assert short.amount == D("0.00")
    assert short.gap.needed == D("10000.00")
    no_baseline = _growth("0", "1200000")
    assert no_baseline.status == "no baseline"
    assert no_baseline.amount == D("0.00")
    assert no_baseline.gap is None


def test_e5_product_mix_bonus():
    rules = f"""
id: e5
name: Mix
{YEAR}
measure: mix_share
mix: {{product_lines: [Smart]}}
tiers: [{{from: 20%, rate: 2%}}]
"""
    lines = [
        line("BOLT", date(2026, 5, 1), "390000"),
        line("BOLT", date(2026, 5, 2), "110000", sku="N-400"),
    ]
    standing = run([program(rules)], lines).get("e5", "BOLT", "2026-Q2")
    assert standing.measure == D("0.22")
    assert standing.amount == D("10000.00")


E6 = f"""
id: e6
name: Breadth
{YEAR}
measure: breadth
breadth: {{dimension: product_line, values: [Valves, Pumps, Meters], min_each: 5000}}
tiers: [{{from: 3, rate: 1%}}]
"""


def test_e6_category_breadth():
    def quarter(partner, valves, pumps, meters):
        return [
            line(partner, date(2026, 7, 1), valves, sku="V-100"),
            line(partner, date(2026, 7, 2), pumps, sku="P-200"),
            line(partner, date(2026, 7, 3), meters, sku="M-300"),
        ]

    result = run(
        [program(E6)],
        quarter("BOLT", "40000", "8000", "5000") + quarter("CORE", "60000", "12000", "4999.99"),
    )
    assert result.get("e6", "BOLT", "2026-Q3").amount == D("530.00")
    core = result.get("e6", "CORE", "2026-Q3")
    assert core.amount == D("0.00")
    assert core.gap.needed == D("0.01")
    assert "Meters" in core.gap.detail


def test_e6_what_a_bucket_still_needs_is_money_rounded_up_to_the_minor_unit():
    """A bucket 0.005 short needs a cent more, written as money (as every other gap is)."""
    lines = [
        line("CORE", date(2026, 7, 1), "6000", sku="V-100"),
        line("CORE", date(2026, 7, 2), "4999.995", sku="P-200"),
        line("CORE", date(2026, 7, 3), "4000.5", sku="M-300"),
    ]
    gap = run([program(E6)], lines).get("e6", "CORE", "2026-Q3").gap
    assert gap.needed == D("999.51")
    assert gap.detail == "USD 0.01 in Pumps; USD 999.50 in Meters"


def test_e7_off_season_multiplier_attributed_per_line():
    rules = """
id: e7
name: Off-season
effective: {from: 2026-01-01, to: 2026-12-31}
period: year
multipliers: [{name: Off-season, from: 11-01, to: 02-29, factor: 1.5}]
tiers: [{from: 0, rate: 3%}]
"""
    lines = [
        line("CORE", date(2026, 1, 15), "20000"),
        line("CORE", date(2026, 4, 10), "30000"),
        line("CORE", date(2026, 12, 2), "10000"),
    ]
    result = run([program(rules)], lines)
    standing = result.get("e7", "CORE", "2026")
    assert standing.amount == D("2250.00")
    shares = [a.share for a in result.attribute(standing)]
    assert shares == [D("900.00"), D("900.00"), D("450.00")]


E8 = f"""
id: e8
name: Year to date
{YEAR}
evaluation: year_to_date
tiers:
  - {{from: 100000, rate: 2%}}
  - {{from: 250000, rate: 3%}}
"""


def _quarterly(amounts):
    months = [2, 5, 8, 11]
    return [line("CORE", date(2026, months[i], 10), a) for i, a in enumerate(amounts) if a]


def test_e8_year_to_date_true_up():
    result = run([program(E8)], _quarterly(["80000", "90000", "100000", "50000"]))
    payouts = [result.get("e8", "CORE", f"2026-Q{q}").payout for q in range(1, 5)]
    assert payouts == [D("0.00"), D("3400.00"), D("4700.00"), D("1500.00")]


def test_e9_return_claws_back():
    lines = _quarterly(["80000", "90000", "100000", "50000"])
    lines.append(line("CORE", date(2026, 11, 20), "-60000", -1, kind=LineKind.RETURN))
    result = run([program(E8)], lines)
    q4 = result.get("e8", "CORE", "2026-Q4")
    assert q4.earned == D("7800.00")
    assert q4.payout == D("-300.00")


def test_e10_pro_rata_floor():
    rules = f"""
id: e10
name: Pro rata
{YEAR}
pro_rata_floor: 90%
tiers: [{{from: 100000, rate: 3%}}]
"""

    def amount(value):
        return run([program(rules)], [line("CORE", date(2026, 3, 1), value)]).standings[0].amount

    assert amount("95000") == D("2707.50")
    assert amount("89999") == D("0.00")
    assert amount("100000") == D("3000.00")


def test_e11_cap_and_minimum_payout_carry_forward():
    capped = f"""
id: e11
name: Capped
{YEAR}
caps: {{per_partner_period: 5000}}
tiers: [{{from: 0, rate: 6%}}]
"""
    standing = run([program(capped)], [line("CORE", date(2026, 1, 5), "100000")]).standings[0]
    assert (standing.amount, standing.cap_excess) == (D("5000.00"), D("1000.00"))

    minimum = f"""
id: e11b
name: Minimum
{YEAR}
minimum_payout: 50
tiers: [{{from: 0, rate: 1%}}]
"""
    lines = [line("CORE", date(2026, 2, 1), "4210"), line("CORE", date(2026, 5, 1), "3000")]
    result = run([program(minimum)], lines)
    q1, q2 = result.get("e11b", "CORE", "2026-Q1"), result.get("e11b", "CORE", "2026-Q2")
    assert (q1.payout, q1.carried_out) == (D("0.00"), D("42.10"))
    assert (q2.carried_in, q2.payout, q2.carried_out) == (D("42.10"), D("72.10"), D("0.00"))


def test_e12_rounding_and_attribution():
    fixed = f"""
id: e12
name: Bonus
{YEAR}
tiers: [{{from: 0, fixed: 1.00}}]
"""
    equal = [
        line("CORE", date(2026, 1, 9), "100", document="INV-E12", line_no=n) for n in (1, 2, 3)
    ]
    result = run([program(fixed)], equal)
    shares = [a.share for a in result.attribute(result.standings[0])]
    assert shares == [D("0.34"), D("0.33"), D("0.33")]

    rate = fixed.replace("fixed: 1.00", "rate: 3%")
    uneven = [
        line("CORE", date(2026, 1, 9), amount, document="INV-E12B", line_no=n)
        for n, amount in enumerate(["33.33", "33.33", "33.34"], 1)
    ]
    result = run([program(rate)], uneven)
    assert result.standings[0].amount == D("3.00")
    assert [a.share for a in result.attribute(result.standings[0])] == [D("1.00")] * 3


def test_e16_rep_points():
    """Only CORE reaches a *new* tier in Q2: BOLT was already in tier 1 after Q1."""
    rules = f"""
id: e16
name: Rep recognition
kind: points
{YEAR}
rollup: self
evaluation: year_to_date
points: {{per_amount: 100, points: 1}}
tiers: [{{from: 7000, points: 500}}]
"""
    lines = [
        line("BOLT", date(2026, 2, 1), "8000"),
        line("BOLT", date(2026, 4, 1), "12345"),
        line("CORE", date(2026, 4, 2), "7890"),
    ]
    reps = [SalesRep("R1", "Rita", frozenset({"BOLT", "CORE"}))]
    result = run([program(rules)], lines, reps=reps)
    q2 = [p for p in result.rep_points() if p.period.label == "2026-Q2"]
    assert [(p.rep_id, p.points) for p in q2] == [("R1", 701)]
    assert dict(q2[0].partners) == {"BOLT": 123, "CORE": 578}


E17 = f"""
id: e17
name: Two methods
{YEAR}
method: METHOD
tiers:
  - {{from: 0, rate: 10%}}
  - {{from: 1000, rate: 25%}}
"""


def test_e17_same_tiers_two_methods():
    lines = [line("CORE", date(2026, 6, 1), "2000")]
    incremental = run([program(E17.replace("METHOD", "incremental"))], lines).standings[-1]
    retroactive = run([program(E17.replace("METHOD", "retroactive"))], lines).standings[-1]
    assert (incremental.amount, retroactive.amount) == (D("350.00"), D("500.00"))


def test_e18_baseline_relative_tiers_three_modes():
    rules = """
id: e18
name: Growth tiers
currency: GBP
effective: {{from: 2026-01-01, to: 2026-12-31}}
period: year
thresholds: baseline
method: {method}
base: {base}
tiers:
  - {{from: 110%, rate: 2%}}
  - {{from: 115%, rate: 3%}}
  - {{from: 120%, rate: 4%}}
"""
    lines = [
        line("BOLT", date(2025, 3, 1), "2000000", currency="GBP"),
        line("BOLT", date(2026, 3, 1), "2350000", currency="GBP"),
    ]

    def amount(method, base):
        result = run([program(rules.format(method=method, base=base))], lines)
        return result.get("e18", "BOLT", "2026").amount

    assert amount("retroactive", "amount") == D("70500.00")
    assert amount("retroactive", "growth") == D("10500.00")
    assert amount("incremental", "amount") == D("3500.00")


def test_e19_interim_payments_netted_at_final_settlement():
    rules = """
id: e19
name: Interim
effective: {from: 2026-10-01, to: 2026-12-31}
period: month
evaluation: program_to_date
tiers:
  - {from: 5000, rate: 2%}
  - {from: 20000, rate: 4%}
"""
    lines = [
        line("CORE", date(2026, 10, 5), "3000"),
        line("CORE", date(2026, 11, 5), "4000"),
        line("CORE", date(2026, 12, 5), "20000"),
    ]
    result = run([program(rules)], lines)
    payouts = [result.get("e19", "CORE", f"2026-{m}").payout for m in (10, 11, 12)]
    assert payouts == [D("0.00"), D("140.00"), D("940.00")]
    assert result.get("e19", "CORE", "2026-12").earned == D("1080.00")

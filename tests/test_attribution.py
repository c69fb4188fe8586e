"""Rule 1's attribution when a tier pays a rate and an amount per unit: every line gets what
it earned under the tier that applies, not a share of the total in proportion to money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from conftest import line, program, run
from hypothesis import given, settings
from hypothesis import strategies as st

from accrue.domain.lines import LineKind
from accrue.engine.reference import reference_attribution

DAY = date(2026, 4, 10)


def _units_program(*tiers: str) -> str:
    return f"""
id: mixed
name: Mixed
effective: {{from: 2026-01-01, to: 2026-12-31}}
period: quarter
measure: units
tiers: [{", ".join(tiers)}]
"""


def _by_line(result, standing) -> dict[tuple, D]:
    return {(a.source, a.document, a.line_no): a.share for a in result.attribute(standing)}


def _shares(text: str, lines) -> tuple[D, list[D]]:
    """The standing's amount and each line's share, held to the Decimal oracle."""
    result = run([program(text)], lines)
    (standing,) = [s for s in result.standings if s.amount]
    shares = _by_line(result, standing)
    assert shares == reference_attribution(result, standing, lines)
    return standing.amount, [shares[(x.source, x.document, x.line_no)] for x in lines]


def _two_lines():
    return [
        line("CORE", DAY, "100.00", 10, document="INV-1", line_no=1),
        line("CORE", DAY, "900.00", 1, document="INV-1", line_no=2),
    ]


def test_a_per_unit_tier_above_a_rate_tier_pays_each_line_its_units():
    text = _units_program("{from: 0, rate: 1%}", "{from: 5, per_unit: 1}")
    assert _shares(text, _two_lines()) == (D("11.00"), [D("10.00"), D("1.00")])


def test_a_tier_paying_a_rate_and_per_unit_pays_each_line_both():
    text = _units_program("{from: 0, rate: 1%, per_unit: 1}")
    assert _shares(text, _two_lines()) == (D("21.00"), [D("11.00"), D("10.00")])


def test_a_return_takes_back_what_it_had_earned():
    text = _units_program("{from: 0, rate: 1%, per_unit: 1}")
    lines = [
        line("CORE", DAY, "100.00", 10, document="INV-1", line_no=1),
        line("CORE", DAY, "-50.00", -1, kind=LineKind.RETURN, document="RMA-1", line_no=1),
    ]
    assert _shares(text, lines) == (D("9.50"), [D("11.00"), D("-1.50")])


def test_incremental_bands_pay_each_line_the_blend_of_rates_and_per_unit():
    """0–5 units at 1%, above 5 at $1 a unit: 11 units earn 5/11 of the rate band and 6/11 of
    the per-unit band; each line gets the same blend of its amount and units."""
    text = _units_program("{from: 0, rate: 1%}", "{from: 5, per_unit: 1}").replace(
        "measure: units", "measure: units\nmethod: incremental"
    )
    amount, shares = _shares(text, _two_lines())
    # rate part: 1% × $1,000 × 5/11 = 4.5454…; per-unit part: 11 × 6/11 = 6 → 10.55
    assert amount == D("10.55")
    # line 1: 1% × 100 × 5/11 + 10 × 6/11 = 5.909…; line 2: 1% × 900 × 5/11 + 6/11 = 4.636…
    assert shares == [D("5.91"), D("4.64")]


MONEY = st.decimals(min_value=D("-500"), max_value=D("2000"), places=2)
UNITS = st.integers(min_value=-3, max_value=40)


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(st.tuples(MONEY, UNITS), min_size=1, max_size=8),
    rate=st.sampled_from(["0%", "1%", "2.5%"]),
    per_unit=st.sampled_from(["0.25", "1", "3.10"]),
    threshold=st.integers(min_value=1, max_value=60),
    incremental=st.booleans(),
)
def test_mixed_tiers_attribute_what_each_line_earned(lines, rate, per_unit, threshold, incremental):
    """Plan = oracle; shares sum to the amount; under a retroactive tier paying a rate and
    per unit with no cap, each line's share is within a cent of rate × amount + per unit ×
    units."""
    text = _units_program(
        "{from: 0, rate: 1%}", f"{{from: {threshold}, rate: {rate}, per_unit: {per_unit}}}"
    )
    if incremental:
        text = text.replace("measure: units", "measure: units\nmethod: incremental")
    batch = [
        line(
            "CORE",
            DAY,
            abs(amount) if units >= 0 else -abs(amount),
            units,
            kind=LineKind.SALE if units >= 0 else LineKind.RETURN,
            document=f"INV-{n}",
        )
        for n, (amount, units) in enumerate(lines)
    ]
    result = run([program(text)], batch)
    for standing in (s for s in result.standings if s.amount):
        shares = _by_line(result, standing)
        assert shares == reference_attribution(result, standing, batch)
        assert sum(shares.values()) == standing.amount
        if standing.tier == 2 and not incremental:
            for x in batch:
                earned = D(rate.rstrip("%")) / 100 * x.amount + D(per_unit) * x.quantity
                assert abs(shares[(x.source, x.document, x.line_no)] - earned) <= D("0.01")

"""The rules inside the plan (engine.rules) against the Decimal rules of the domain, the
oracle: every standing identical — measure, tier, amounts, cap, gap and what the next tier
would pay, projection — over random lines and every mechanic the plan computes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import PARTNERS, PRODUCTS, program
from hypothesis import given, settings
from hypothesis import strategies as st

from accrue.domain.fx import FxRate
from accrue.domain.lines import Line, LineKind
from accrue.domain.partners import Partner
from accrue.engine import DataSet, Engine, rules
from accrue.engine.dataset import AMOUNT_SCALE

HEADER = "effective: {from: 2026-01-01, to: 2026-12-31}\n"
PROGRAMS = [
    program(
        f"id: retro-units\nname: R\n{HEADER}measure: units\nrollup: self\n"
        "tiers: [{from: 50, rate: 2%}, {from: 400, rate: 3.5%, fixed: 25},"
        " {from: 900, per_unit: 0.75}]"
    ),
    program(
        f"id: stepped\nname: S\n{HEADER}method: incremental\n"
        "tiers: [{from: 0, rate: 1%}, {from: 20000, rate: 2.5%, per_unit: 0.1},"
        " {from: 60000, rate: 4%, fixed: 10}]"
    ),
    program(
        f"id: stepped-units\nname: SU\n{HEADER}method: incremental\nmeasure: units\nperiod: half\n"
        "tiers: [{from: 10, per_unit: 0.5}, {from: 150, rate: 1.5%},"
        " {from: 700, per_unit: 1.25, rate: 0.5%}]"
    ),
    program(
        f"id: seasonal\nname: W\n{HEADER}period: month\n"
        "multipliers: [{name: Winter, from: 11-15, to: 02-10, factor: 1.25},"
        " {name: Spring, from: 03-01, to: 04-30, factor: 0.5}]\n"
        "caps: {per_partner_period: 900}\nminimum_payout: 75\n"
        "qualifying: {product_lines: [Valves, Pumps, Meters, Smart]}\n"
        "eligibility: {product_lines: [Valves], line_types: [sale, return, pos]}\n"
        "tiers: [{from: 10000, rate: 1.7%}, {from: 40000, rate: 2.9%}]"
    ),
    program(
        f"id: floor\nname: F\n{HEADER}pro_rata_floor: 80%\nexclusive_group: bonus\n"
        "tiers: [{from: 25000, rate: 3%, fixed: 99.99}, {from: 80000, rate: 3.25%}]"
    ),
    program(
        f"id: lump\nname: L\n{HEADER}exclusive_group: bonus\nperiod: year\n"
        "tiers: [{from: 5000, fixed: 100}, {from: 30000, fixed: 750}]"
    ),
    program(
        f"id: ytd\nname: Y\n{HEADER}evaluation: year_to_date\npro_rata_floor: 50%\n"
        "caps: {per_partner_period: 1500}\n"
        "tiers: [{from: 30000, rate: 1.5%}, {from: 90000, rate: 2.5%, fixed: 50}]"
    ),
    program(
        f"id: points\nname: Pts\n{HEADER}kind: points\nrollup: self\n"
        "points: {per_amount: 100, points: 3}\n"
        "multipliers: [{name: Winter, from: 11-15, to: 02-10, factor: 2}]\n"
        "tiers: [{from: 5000, points: 500}, {from: 40000, points: 1500}]"
    ),
    program(
        f"id: points-ytd\nname: PY\n{HEADER}kind: points\nevaluation: year_to_date\n"
        "points: {per_amount: 250}\ntiers: [{from: 20000, points: 100}, {from: 60000, points: 1}]"
    ),
    program(
        f"id: budget\nname: B\n{HEADER}caps: {{budget_per_period: 2500}}\n"
        "tiers: [{from: 1000, rate: 4%}, {from: 50000, rate: 6%}]"
    ),
    program(
        f"id: growth\nname: G\n{HEADER}thresholds: baseline\nbase: growth\n"
        "pro_rata_floor: 90%\ntiers: [{from: 110%, rate: 3%}, {from: 125.5%, rate: 4.5%}]"
    ),
    program(
        f"id: ladder\nname: GL\n{HEADER}thresholds: baseline\nperiod: half\n"
        "method: incremental\nevaluation: year_to_date\n"
        "tiers: [{from: 95%, rate: 1%}, {from: 115%, rate: 2%, fixed: 20}]"
    ),
    program(
        f"id: growth-units\nname: GU\n{HEADER}base: growth\nmeasure: units\n"
        "tiers: [{from: 40, rate: 2%}, {from: 200, rate: 5%}]"
    ),
    program(
        f"id: ptd\nname: P\n{HEADER}evaluation: program_to_date\nperiod: month\n"
        "method: incremental\n"
        "tiers: [{from: 8000, rate: 1%}, {from: 100000, rate: 2%, per_unit: 0.05}]"
    ),
]


def test_every_program_here_is_computed_in_the_plan():
    for prog in PROGRAMS:
        assert rules.constants(prog, -AMOUNT_SCALE, 1000) is not None, prog.id


# Each Hypothesis example holds several independent data sets, each with its own copy of the
# partner tree, so one engine run checks them all: 10 examples × 20 data sets of up to 200
# lines = 200 data sets, at the cost of 20 runs instead of 400.
SETS = 20


def _copy(i: int, partner: Partner) -> Partner:
    parent = f"{i}:{partner.parent_id}" if partner.parent_id else None
    return replace(partner, id=f"{i}:{partner.id}", parent_id=parent)


def _combined(sets: list[list[Line]]) -> tuple[list[Partner], list[Line]]:
    partners = [_copy(i, p) for i in range(len(sets)) for p in PARTNERS]
    lines = [
        replace(line, partner_id=f"{i}:{line.partner_id}", document=f"{i}:{line.document}")
        for i, group in enumerate(sets)
        for line in group
    ]
    return partners, lines


def _random_lines(rnd: random.Random, currencies=("USD",)) -> list[Line]:
    """Up to 200 lines like the property tests' (sales, returns, point of sale, two years),
    drawn from a seed: Hypothesis cannot hold 20 × 200 lines in one example."""
    lines = []
    for n in range(rnd.randint(0, 200)):
        kind = rnd.choice([LineKind.SALE] * 6 + [LineKind.RETURN, LineKind.POS])
        sign = -1 if kind is LineKind.RETURN else 1
        lines.append(
            Line(
                rnd.choice(["erp", "edi"]),
                f"D{rnd.randint(1, 9)}",
                n + 1,
                kind,
                rnd.choice(PARTNERS).id,
                rnd.choice(PRODUCTS).sku,
                date(2025, 1, 1) + timedelta(days=rnd.randrange(730)),
                sign * Decimal(rnd.randint(1, 300)),
                sign * Decimal(rnd.randint(1, 2_500_000)).scaleb(-2),
                rnd.choice(currencies),
            )
        )
    return lines


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32), st.none() | st.dates(date(2026, 1, 1), date(2027, 1, 15)))
def test_rules_in_the_plan_match_the_decimal_rules(seed, as_of):
    _plan_matches_the_oracle(seed, as_of)


@pytest.mark.parametrize(
    ("seed", "as_of"),
    [(371, None), (0, date(2026, 5, 12))],
    ids=["next-tier-on-net-returns", "projection-on-a-half-cent"],
)
def test_half_cent_ties_behind_a_division_round_alike(seed, as_of):
    """Where a run rate or a scaling to the next threshold does not terminate, the amount
    still falls on a half cent: the oracle's 60-digit approximation rounds as the plan's
    exact integers do (-23.58 for what the next tier would pay, 788.13 projected)."""
    _plan_matches_the_oracle(seed, as_of)


def _plan_matches_the_oracle(seed: int, as_of: date | None, programs=PROGRAMS, **kinds) -> None:
    rnd = random.Random(seed)
    partners, lines = _combined([_random_lines(rnd, **kinds) for _ in range(SETS)])
    data = DataSet.from_lines(lines, partners=partners, products=PRODUCTS, fx_rates=RATES)
    engine = Engine(data)
    in_plan = engine.run(programs, as_of=as_of).standings
    oracle = Engine(data, rules_in_plan=False).run(programs, as_of=as_of).standings
    assert engine.by_decimal_rules == set()
    assert len(in_plan) == len(oracle)
    for got, expected in zip(in_plan, oracle, strict=True):
        assert got == expected, expected.key


def _weekly(source: str, target: str, places: int) -> list[FxRate]:
    """A rate a week over the test's two years, with `places` decimals."""
    rnd = random.Random(f"{source}{target}")
    return [
        FxRate(
            date(2024, 12, 30) + timedelta(weeks=week),
            source,
            target,
            Decimal(rnd.randint(6 * 10 ** (places - 1), 14 * 10 ** (places - 1))).scaleb(-places),
        )
        for week in range(106)
    ]


# Into USD at four decimals (converted amounts stay in micros), into EUR at six (finer).
RATES = [
    *_weekly("EUR", "USD", 4),
    *_weekly("CAD", "USD", 4),
    *_weekly("USD", "EUR", 6),
    *_weekly("CAD", "EUR", 5),
]


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_lines_in_other_currencies_convert_in_the_plan_as_in_the_decimal_rules(currency):
    """Rule 10 inside the plan: amounts times the rate of their date, exact, whether the
    converted sums need micros (cents × four-decimal rates) or finer units."""
    programs = [p.model_copy(update={"currency": currency}) for p in PROGRAMS]
    _plan_matches_the_oracle(2026, date(2026, 8, 19), programs, currencies=("USD", "EUR", "CAD"))


def test_sums_too_wide_for_the_plan_are_computed_by_the_decimal_rules():
    """A partner buying 900 billion dollars' worth in a quarter, paid in euros: the pro-rata
    and projection products pass 38 digits, the backend refuses them, and the Decimal rules
    compute the program instead, to the same cent."""
    floor = next(p for p in PROGRAMS if p.id == "floor").model_copy(update={"currency": "EUR"})
    day, amount = date(2026, 2, 2), Decimal(900_000_000_000)
    huge = Line("erp", "D1", 1, LineKind.SALE, "CORE", "V-100", day, Decimal(1), amount, "USD")
    data = DataSet.from_lines([huge], partners=PARTNERS, products=PRODUCTS, fx_rates=RATES)
    engine = Engine(data)
    standings = engine.run([floor], as_of=date(2026, 2, 20)).standings
    assert engine.by_decimal_rules == {floor.ref}
    assert standings == Engine(data, rules_in_plan=False).run([floor], date(2026, 2, 20)).standings


@pytest.mark.parametrize(
    ("currency", "cap"),
    [("USD", "1000.00"), ("JPY", "1000"), ("KWD", "1000.000"), ("USD", "999.99")],
)
def test_a_capped_amount_is_at_the_minor_unit_in_both_engines(currency, cap):
    capped = program(
        f"id: capped\nname: C\n{HEADER}currency: {currency}\n"
        f"caps: {{per_partner_period: {Decimal(cap).normalize():f}}}\n"
        "tiers: [{from: 0, rate: 10%}]"
    )
    day, units, amount = date(2026, 2, 1), Decimal(1), Decimal(50000)
    sold = Line("erp", "D1", 1, LineKind.SALE, "CORE", "V-100", day, units, amount, currency)
    data = DataSet.from_lines([sold], partners=PARTNERS, products=PRODUCTS)
    for rules_in_plan in (True, False):
        result = Engine(data, rules_in_plan=rules_in_plan).run([capped])
        [standing] = [s for s in result.standings if s.amount]
        assert (str(standing.amount), str(standing.cap_excess)) == (cap, str(5000 - Decimal(cap)))

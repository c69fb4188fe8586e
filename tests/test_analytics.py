"""Design analytics on data of known shape: calibration percentiles and suggestions per
segment, a simulated draft equal to the engine's result once published, run-rate and seasonal
forecasts, and the money left unclaimed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from bookkeeping import add_program, lines_file, receive, sale, write_csv
from sqlalchemy import select

from accrue.analytics.calibration import calibrate_program
from accrue.analytics.forecasts import forecasts, projected_liability
from accrue.analytics.lift import lift
from accrue.analytics.simulation import simulate
from accrue.analytics.unclaimed import unclaimed
from accrue.domain.calibration import calibrate
from accrue.domain.program import parse_program
from accrue.ingest.claims import AGREEMENT_COLUMNS
from accrue.store.claims import import_agreements
from accrue.store.master import import_master
from accrue.store.tables import StandingRow

DRAFT = """
id: draft
name: Draft volume
effective: {from: 2025-01-01, to: 2026-12-31}
period: quarter
rollup: self
measure: amount
tiers:
  - {name: Silver, from: 10000, rate: 2%}
  - {name: Gold, from: 40000, rate: 4%}
"""


def _partners(books, tmp_path, count=100):
    rows = [(f"G{i:03d}", f"Gold {i}", "", "Gold", "NA") for i in range(1, count + 1)]
    rows += [(f"S{i:03d}", f"Silver {i}", "", "Silver", "EU") for i in range(1, 11)]
    path = write_csv(tmp_path / "p.csv", ("id", "name", "parent_id", "segment", "region"), rows)
    import_master(books, "partners", path)
    products = write_csv(
        tmp_path / "s.csv",
        ("sku", "name", "category", "product_line"),
        [("V-100", "Valve", "Gate valves", "Valves")],
    )
    import_master(books, "products", products)


def test_calibration_returns_the_percentiles_and_thresholds_of_a_known_distribution(
    books, tmp_path
):
    _partners(books, tmp_path)
    rows = [sale(f"G-{i}", "2025-02-10", str(1000 * i), f"G{i:03d}") for i in range(1, 101)]
    rows += [sale(f"S-{i}", "2025-02-10", str(500 * i), f"S{i:03d}") for i in range(1, 11)]
    receive(books, lines_file(tmp_path / "l.csv", rows))
    gold, silver = calibrate_program(books, parse_program(DRAFT), "2025-Q1")
    assert (gold.segment, gold.partners, silver.segment, silver.partners) == (
        "Gold",
        100,
        "Silver",
        10,
    )
    assert gold.percentiles == {
        10: Decimal("10900.00"),
        25: Decimal("25750.00"),
        50: Decimal("50500.00"),
        75: Decimal("75250.00"),
        90: Decimal("90100.00"),
    }
    at_20 = gold.suggestions[1]
    # 20% above the median 50,500 is 60,600: partners 61..100 already buy that much
    assert (at_20.threshold, at_20.qualifying, at_20.qualifying_share) == (
        Decimal("60600.00"),
        40,
        Decimal("0.4000"),
    )
    assert at_20.cost == Decimal("64400.00")  # 2% × (61 + … + 100) × 1,000
    assert silver.percentiles[50] == Decimal("2750.00")


@pytest.mark.parametrize(("currency", "cost"), [("USD", "1.51"), ("JPY", "2"), ("KWD", "1.505")])
def test_a_suggested_thresholds_cost_is_money_at_the_minor_unit_half_up(currency, cost):
    measures = [Decimal(100), Decimal(100), Decimal("150.5")]  # above 115: 150.5 × 1% = 1.505
    [at_15, *_] = calibrate("Gold", measures, Decimal("0.01"), currency).suggestions
    assert (at_15.threshold, str(at_15.cost)) == (Decimal("115.00"), cost)


def test_a_simulated_draft_equals_the_engine_once_published(books, tmp_path):
    _partners(books, tmp_path, count=30)
    rows = [sale(f"G-{i}", "2026-02-10", str(1700 * i), f"G{i:03d}") for i in range(1, 31)]
    receive(books, lines_file(tmp_path / "l.csv", rows))
    draft = parse_program(DRAFT)
    [found] = simulate(books, [draft], "2026-Q1")
    # 1,700 × i: i ≥ 6 reaches 10,000 (2%), i ≥ 24 reaches 40,000 (4%)
    expected = sum(Decimal(1700 * i) * Decimal("0.02") for i in range(6, 24))
    expected += sum(Decimal(1700 * i) * Decimal("0.04") for i in range(24, 31))
    assert found.total.cost == expected and found.total.qualifying == 25
    assert found.total.cost_share == (expected / Decimal(1700 * 465)).quantize(Decimal("0.0001"))
    add_program(books, DRAFT)
    receive(books, lines_file(tmp_path / "none.csv", [sale("X", "2026-02-11", "0", "G001")]))
    with books.session() as session:
        stored = session.scalars(
            select(StandingRow).where(
                StandingRow.program_id == "draft", StandingRow.period == "2026-Q1"
            )
        ).all()
    assert sum(Decimal(s.amount) for s in stored) == found.total.cost
    gold_moved = {name: delta for name, _, delta in found.sensitivity}
    assert gold_moved["Gold"] < 0 and gold_moved["Silver"] <= 0  # a higher bar costs less


def test_forecasts_at_the_run_rate_and_at_last_years_shape(books, tmp_path):
    _partners(books, tmp_path, count=1)
    rows = [
        sale("LY-1", "2025-04-10", "10000", "G001"),
        sale("LY-2", "2025-05-20", "10000", "G001"),
        sale("LY-3", "2025-06-20", "20000", "G001"),
        sale("TY-1", "2026-04-10", "12000", "G001"),
    ]
    receive(books, lines_file(tmp_path / "l.csv", rows))
    add_program(books, DRAFT)
    [f] = [f for f in forecasts(books, date(2026, 5, 15)) if f.partner_id == "G001"]
    assert (f.period, f.amount) == ("2026-Q2", Decimal("240.00"))
    # run rate: 12,000 × 91 days / 45 elapsed; season: last year 40,000 came after 10,000 by May 15
    assert round(f.run_rate.measure, 2) == Decimal("24266.67") and f.run_rate.amount == Decimal(
        "485.33"
    )
    assert (f.seasonal.measure, f.seasonal.tier, f.seasonal.amount) == (
        48000,
        2,
        Decimal("1920.00"),
    )
    [total] = projected_liability([f])
    assert (total["earned"], total["run_rate"], total["seasonal"]) == (
        Decimal("240.00"),
        Decimal("485.33"),
        Decimal("1920.00"),
    )


FUND = """
id: mdf
name: Fund
kind: fund
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
expires_after: 2
tiers: [{from: 0, rate: 2%}]
"""


def test_unclaimed_funds_and_ship_and_debit_with_days_left(books, tmp_path):
    _partners(books, tmp_path, count=2)
    add_program(books, FUND)
    rows = [
        sale("Q1", "2026-02-10", "100000", "G001"),
        sale("SD-1", "2026-05-01", "6200", "G002", quantity="100"),
    ]
    receive(books, lines_file(tmp_path / "l.csv", rows))
    spa = (
        "SPA-1",
        "G002",
        "Acme Hospital",
        "V-100",
        "80.00",
        "62.00",
        "500",
        "2026-01-01",
        "2026-12-31",
        "60",
    )
    import_agreements(books, write_csv(tmp_path / "spa.csv", AGREEMENT_COLUMNS, [spa]))
    found = {(u.kind, u.partner_id): u for u in unclaimed(books, date(2026, 5, 15))}
    fund, shipped = found[("fund", "G001")], found[("ship_and_debit", "G002")]
    assert (found[("fund", "G002")].unclaimed, found[("fund", "G002")].days_left) == (124, 230)
    assert (fund.partner_id, fund.unclaimed, fund.days_left) == ("G001", Decimal("2000.00"), 138)
    assert (shipped.partner_id, shipped.unclaimed, shipped.days_left) == (
        "G002",
        Decimal("1800.00"),
        46,
    )
    assert shipped.share == 1 and "at most" in shipped.note
    assert not [
        u
        for u in unclaimed(books, date(2026, 10, 5))
        if u.kind == "fund" and u.note == "funds of 2026-Q1"
    ]


def test_lift_of_a_program_over_the_books_recovers_a_planted_effect(books, tmp_path):
    partners = [(f"{k}{i:02d}", f"{k} {i}", "", "Gold", "NA") for k in "EC" for i in range(1, 21)]
    import_master(
        books,
        "partners",
        write_csv(tmp_path / "p.csv", ("id", "name", "parent_id", "segment", "region"), partners),
    )
    import_master(
        books,
        "products",
        write_csv(
            tmp_path / "s.csv",
            ("sku", "name", "category", "product_line"),
            [("V-100", "Valve", "Gate valves", "Valves")],
        ),
    )
    rows = []
    for i in range(1, 21):
        base = Decimal(10000 + 1000 * i)
        for kind, growth in (
            ("E", Decimal("1.176")),
            ("C", Decimal("1.05")),
        ):  # 1.05 × 1.12 = 1.176
            rows.append(sale(f"{kind}{i}-25", "2025-05-10", str(base), f"{kind}{i:02d}"))
            rows.append(sale(f"{kind}{i}-26", "2026-05-10", str(base * growth), f"{kind}{i:02d}"))
    enrolled = ", ".join(f"E{i:02d}" for i in range(1, 21))
    add_program(
        books,
        DRAFT.replace("rollup: self", f"rollup: self\neligibility: {{partners: [{enrolled}]}}"),
    )
    receive(books, lines_file(tmp_path / "l.csv", rows))
    report = lift(books, "draft", "2025", "2026", reps=200)
    effect = report.effects["net_revenue"]
    assert report.matched == 20 and report.unmatched == 0 and report.balance == 0
    assert effect.relative == Decimal("0.1200") and effect.low > 0
    assert report.rebate_cost == sum(
        Decimal(10000 + 1000 * i) * Decimal("1.176") * Decimal("0.02") for i in range(1, 21)
    ).quantize(Decimal("0.01"))
    assert report.roi is not None and report.incremental_revenue == effect.estimate * 20

"""Money for people — e-mails, portal pages, PDF statements — at the currency's minor unit,
half-up, through the one path in domain/money (JPY has no decimals, KWD three)."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from conftest import program
from pypdf import PdfReader

import accrue.api  # noqa: F401  (the portal's pages load with the app they belong to)
from accrue.analytics.simulation import Totals
from accrue.analytics.unclaimed import Unclaimed
from accrue.cli.files import _shown
from accrue.domain import notices
from accrue.domain.calibration import calibrate
from accrue.domain.money import readable_percent
from accrue.explain import in_unit, summary
from accrue.export.statements import Names, render
from accrue.store.alerts import _alert
from accrue.store.statements import Statement
from accrue.store.tables import StandingRow
from accrue.web.pages import templates

CASES = [  # (amount, currency, as people read it)
    ("1234.5", "USD", "USD 1,234.50"),
    ("1234.5", "JPY", "JPY 1,235"),
    ("1234.5", "KWD", "KWD 1,234.500"),
    ("0.125", "USD", "USD 0.13"),
    ("-2.5", "JPY", "JPY -3"),
]


@pytest.mark.parametrize(("amount", "currency", "shown"), CASES)
def test_the_portal_shows_money_at_the_minor_unit(amount, currency, shown):
    assert templates.env.filters["money"](Decimal(amount), currency) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1234.5", "JPY", "JPY +1,235"),
        ("-0.0005", "KWD", "KWD -0.001"),
        ("0.125", "USD", "USD +0.13"),
    ],
)
def test_the_portal_shows_a_money_lift_signed_at_the_minor_unit(amount, currency, shown):
    change = templates.env.filters["change"]
    assert change(Decimal(amount), "net_revenue", currency) == shown
    assert change(Decimal("0.0125"), "category_rate", currency) == "+1.3 pts"


@pytest.mark.parametrize(("amount", "currency", "shown"), CASES[:3])
def test_an_alert_e_mail_shows_money_at_the_minor_unit(amount, currency, shown):
    gold = program(
        f"id: volume\nname: Volume\ncurrency: {currency}\neffective: {{from: 2026-01-01}}\n"
        "tiers: [{from: 10000, rate: 1%}, {from: 20000, rate: 2%, name: Gold}]"
    )
    detail = {
        "tier": 1,
        "measure": "18765.5",
        "gap_needed": amount,
        "gap_unit": currency,
        "next_tier_pays": amount,
    }
    row = StandingRow(
        program_id="volume",
        partner_id="ACME",
        period="2026-Q1",
        currency=currency,
        detail=json.dumps(detail),
    )
    alert = _alert(row, {"volume": gold}, {"ACME": "Acme"}, Decimal("0.10"))
    assert f"is {shown} away from Gold" in alert.text and f"Reaching it pays {shown}." in alert.text


def test_a_pdf_statement_shows_each_rows_money_in_its_currency():
    standings = [
        {"program": p, "partner": "ACME", "period": "2026-Q1", "tier": "-", "measure": "1"}
        | {"amount": amount, "currency": currency}
        for p, (amount, currency, _) in zip("abc", CASES[:3], strict=True)
    ]
    lines = [
        {"product_line": "Valves", "lines": 1, "units": "1", "amount": Decimal("12.5")}
        | {"currency": "KWD"}
    ]
    statement = Statement("ACME", "Acme", "2026-Q1", "2026-04-01", standings, [], lines, [])
    pdf = render(statement, Names({}, {}))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for _, _, shown in CASES[:3]:
        assert shown in text
    assert "Valves 1 1 KWD 12.500" in text


def test_a_statement_to_file_names_programs_totals_them_and_dates_each_payment():
    volume = program(
        "id: volume-q\nname: Quarterly volume\neffective: {from: 2026-01-01}\n"
        "period: quarter\nmeasure: units\ntiers: [{name: Silver, from: 100, rate: 2%}]\n"
    )
    standing = {"program": "volume-q", "partner": "ACME-1", "period": "2026-Q1"}
    standing |= {"tier": "Silver", "measure": "150.000000", "amount": "600.00", "currency": "USD"}
    settled = {"id": 7, "program": "volume-q", "partner": "ACME-1", "period": "2026-Q1"}
    settled |= {"amount": "600", "adjustments": "0", "carried_in": "0", "payout": "600"}
    settled |= {"paid": "600", "currency": "USD"}
    paid = {"date": "2026-04-15", "program": "volume-q", "memo": "check 1001"}
    paid |= {"amount": Decimal("600.00"), "currency": "USD"}
    statement = Statement("ACME", "Acme", "2026", "2026-11-24", [standing], [settled], [], [paid])
    pdf = render(statement, Names({"ACME-1": "Acme East"}, {"volume-q": volume}))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Quarterly volume (USD) USD 600.00 USD 600.00 USD 600.00 USD 0.00" in text
    assert "Quarterly volume Acme East 2026-Q1 Silver 150 units USD 600.00" in text
    assert "2026-04-15 Quarterly volume check 1001 USD 600.00" in text
    assert "volume-q" not in text and "ACME-1" not in text and "150.000000" not in text
    assert "page 1 of 1" in text


def test_a_program_preview_shows_money_in_its_currency_and_a_unit_price_as_written():
    yen = program(
        "id: yen\nname: Yen\ncurrency: JPY\neffective: {from: 2026-01-01}\n"
        "caps: {per_partner_period: 150000.5}\n"
        "tiers: [{from: 1000.4, per_unit: 0.125, fixed: 2500}]"
    )
    text = "\n".join(summary(yen))
    assert "from JPY 1,000: JPY 0.125 per unit + a lump sum of JPY 2,500" in text
    assert "Cap: JPY 150,001 a partner" in text


MIX = (
    "id: mix\nname: Mix\neffective: {from: 2026-01-01}\nmeasure: mix_share\n"
    "mix: {product_lines: [Smart]}\ntiers: [{from: 0.2, rate: 1%}]"
)
TIES = [  # what is not money is rounded as money is: half-up, never half-even (0.125 → 0.13)
    (lambda: templates.env.filters["amount"](Decimal("0.125")), "0.13"),
    (lambda: templates.env.filters["percent"](Decimal("0.0025")), "0.3%"),
    (
        lambda: templates.env.filters["change"](Decimal("0.0025"), "category_rate", "USD"),
        "+0.3 pts",
    ),
    (lambda: Names({}, {}).measure("gone", "2.125"), "2.13"),
    (lambda: _shown("2.125"), "2.13"),
    (lambda: str(Totals("USD", cost=Decimal(1), revenue=Decimal(32)).cost_share), "0.0313"),
    (
        lambda: str(Unclaimed("fund", "f", "p", "USD", Decimal(1), Decimal(31), None).share),
        "0.0313",
    ),
    (lambda: str(calibrate("Gold", [Decimal("0.125")], None, "USD").percentiles[50]), "0.13"),
    (lambda: readable_percent(Decimal("0.1225")), "12.3%"),
    (lambda: in_unit(program(MIX), Decimal("0.0025")), "a 0.3% share"),
]


@pytest.mark.parametrize(
    ("shown", "expected"),
    TIES,
    ids=[
        "portal amount",
        "portal percent",
        "portal change in points",
        "statement measure",
        "cli screen",
        "simulated cost share",
        "unclaimed share",
        "calibration percentile",
        "a share on the command line",
        "a mix share in a program's summary",
    ],
)
def test_a_number_on_a_tie_is_rounded_half_up_wherever_it_is_shown(shown, expected):
    assert shown() == expected


def test_a_threshold_suggestions_share_of_partners_is_rounded_half_up():
    measures = [Decimal(10)] * 31 + [Decimal(100)]  # one of 32 above: 0.03125
    [at_15, *_] = calibrate("Gold", measures, None, "USD").suggestions
    assert (str(at_15.threshold), str(at_15.qualifying_share)) == ("11.50", "0.0313")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [("600", "USD", "600.00"), ("1234.0", "JPY", "1234"), ("2.5", "KWD", "2.500")],
)
def test_a_notices_data_carries_money_as_exact_text_at_the_minor_unit(amount, currency, text):
    """What a webhook receives is the amount as the files write it, not as it was computed."""
    on = date(2026, 4, 15)
    money = Decimal(amount)
    paid = notices.payment_sent(7, "ACME", "Volume", "2026-Q1", money, currency, "ach", "R1", on)
    expiring = notices.fund_expiring("mdf", "MDF", "ACME", "2026-Q1", money, currency, on, 7)
    answered = notices.dispute_answered(3, "ACME", "settlement 7", "ok", money, currency)
    assert paid.facts["amount"] == expiring.facts["amount"] == text
    assert answered.facts["adjustment"] == text

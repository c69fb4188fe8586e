"""Builders shared by the tests: a small partner tree, a catalog, lines and programs."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from accrue.domain.catalog import Product
from accrue.domain.lines import Line, LineKind
from accrue.domain.partners import Partner
from accrue.domain.program import Program, parse_program
from accrue.engine import DataSet, Engine, Result

PARTNERS = [
    Partner("ACME", "Acme Distribution", segment="Gold", region="NA"),
    *(Partner(f"ACME-{i}", f"Acme branch {i}", "ACME") for i in range(1, 5)),
    Partner("BOLT", "Bolt Supply", segment="Silver", region="EU"),
    Partner("CORE", "Core Industrial", segment="Silver", region="NA"),
]
PRODUCTS = [
    Product("V-100", "Valve 100", "Gate valves", "Valves"),
    Product("P-200", "Pump 200", "Centrifugal pumps", "Pumps"),
    Product("M-300", "Meter 300", "Flow meters", "Meters"),
    Product("N-400", "Smart valve 400", "Smart valves", "Smart"),
]

_documents = itertools.count(1)


def line(
    partner: str,
    day: date,
    amount: str | Decimal,
    quantity: str | int | Decimal = 1,
    sku: str = "V-100",
    kind: LineKind = LineKind.SALE,
    currency: str = "USD",
    document: str | None = None,
    line_no: int = 1,
) -> Line:
    return Line(
        source="test",
        document=document or f"INV-{next(_documents):06d}",
        line_no=line_no,
        kind=kind,
        partner_id=partner,
        sku=sku,
        date=day,
        quantity=Decimal(quantity),
        amount=Decimal(amount),
        currency=currency,
    )


def program(text: str) -> Program:
    return parse_program(text, "test")


def run(programs, lines, as_of: date | None = None, **master) -> Result:
    master.setdefault("partners", PARTNERS)
    master.setdefault("products", PRODUCTS)
    data = DataSet.from_lines(lines, **master)
    return Engine(data).run(list(programs), as_of=as_of)


@pytest.fixture
def money():
    return Decimal

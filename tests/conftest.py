"""Builders shared by the tests: a small partner tree, a catalog, lines and programs."""

from __future__ import annotations

import itertools
import os
import uuid
import warnings
from contextlib import contextmanager
from datetime import UTC, date, datetime
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


# --- the books, on the embedded default and on PostgreSQL ------------------------------------

POSTGRES = dict(
    part.split("=", 1)
    for part in os.environ.get(
        "ACCRUE_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres database=test"
    ).split()
)


def postgres_or_skip():
    """A connection to the test server; without one, skip loudly (fail under CI)."""
    import psycopg

    try:
        return psycopg.connect(
            **{"dbname" if k == "database" else k: v for k, v in POSTGRES.items()}, autocommit=True
        )
    except Exception as error:  # any failure to connect means: no server here
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL ({POSTGRES}): {error}")
        warnings.warn(f"PostgreSQL NOT TESTED: no server at {POSTGRES} ({error})", stacklevel=1)
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES}")


@pytest.fixture
def books_settings(request, tmp_path):
    """Settings for fresh, empty books: a data folder, or a new PostgreSQL database."""
    with fresh_settings(getattr(request, "param", "embedded"), tmp_path) as settings:
        yield settings


@contextmanager
def fresh_settings(backend: str, folder):
    """Settings for fresh, empty books on `backend` ("embedded" or "postgres") in `folder`,
    the PostgreSQL database dropped afterwards (for fixtures of any scope)."""
    from accrue.settings import Settings

    if backend == "embedded":
        yield Settings(data_dir=folder / "books", actor="tester")
        return
    admin = postgres_or_skip()
    name = f"accrue_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE DATABASE {name}")
    user, host, port = POSTGRES.get("user", "postgres"), POSTGRES["host"], POSTGRES["port"]
    try:
        yield Settings(
            data_dir=folder / "books",
            database_url=f"postgresql://{user}@{host}:{port}/{name}",
            actor="tester",
        )
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


BACKENDS = pytest.mark.parametrize("books_settings", ["embedded", "postgres"], indirect=True)


@pytest.fixture
def books(books_settings):
    from accrue.store.books import Books

    opened = Books.init(books_settings, clock=lambda: datetime(2026, 11, 24, 12, tzinfo=UTC))
    yield opened
    opened.close()

"""A new program version in the books: a change of accounts or currency moves what was booked
(reversed under the old, booked under the new), so incremental books equal a rebuild; and an
import through any door recalculates what it touches."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from apiclient import PROGRAM, line_rows, lines_csv, open_api, partners_csv
from bookkeeping import AS_OF, add_program, lines_file, receive, sale, with_master, write_csv
from conftest import PARTNERS, PRODUCTS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from accrue.app.books import close_period
from accrue.cli import app
from accrue.domain.periods import Closed, Period
from accrue.settings import Settings
from accrue.store import ledger
from accrue.store.books import Books
from accrue.store.master import import_master
from accrue.store.recalc import recalc
from accrue.store.tables import ClosedPeriod, SettlementRow, StandingRow

TEN = """
id: ten
name: Ten percent
effective: {from: 2026-01-01, to: 2026-12-31}
rollup: self
tiers: [{from: 0, rate: 10%}]
"""
RENAMED = TEN + "accounts: {expense: 5210 Other rebates, accrued: 2310 Other accrued}\n"
IN_EUR = TEN + "currency: EUR\n"


def balances(books) -> dict[tuple[str, str], D]:
    """(account, currency) → net balance, non-zero only."""
    with books.session() as session:
        return {(b.account, b.currency): b.net for b in ledger.trial_balance(session) if b.net}


def owed(books) -> dict[str, D]:
    with books.session() as session:
        accounts = books.liability_accounts(session)
        rows = ledger.liability(session, accounts, ())
    return {row["currency"]: row["outstanding"] for row in rows}


def with_fx(books, folder):
    rates = write_csv(
        folder / "fx.csv",
        ("valid_from", "from_currency", "to_currency", "rate"),
        [("2025-01-01", "USD", "EUR", "0.9")],
    )
    import_master(books, "fx", rates)
    return books


def one_line(books, folder):
    receive(books, lines_file(folder / "lines.csv", [sale("INV-1", "2026-02-10", "500")]))


def test_a_version_that_renames_the_accounts_moves_what_was_booked(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, TEN)
    one_line(books, tmp_path)
    add_program(books, RENAMED)
    recalc(books, AS_OF)
    recalc(books, AS_OF, full=True)
    assert balances(books) == {
        ("2310 Other accrued", "USD"): D("-50.00"),
        ("5210 Other rebates", "USD"): D("50.00"),
    }
    assert owed(books) == {"USD": D("50.00")}


def test_a_version_that_changes_the_currency_moves_what_was_booked(books, tmp_path):
    with_fx(with_master(books, tmp_path), tmp_path)
    add_program(books, TEN)
    one_line(books, tmp_path)
    add_program(books, IN_EUR)
    for _ in range(3):  # idempotent: a further full recalculation posts nothing
        recalc(books, AS_OF, full=True)
    assert balances(books) == {
        ("2300 Accrued rebates", "EUR"): D("-45.00"),
        ("5200 Rebate expense", "EUR"): D("45.00"),
    }
    assert owed(books) == {"EUR": D("45.00")}


# --- importing a version or master data recalculates, whichever door ----------------------

VOLUME = """
id: volume
name: Volume
effective: {from: 2026-01-01, to: 2026-12-31}
tiers: [{from: 0, rate: 2%}]
"""
BRANCH_MOVED = ("ACME-1,Acme branch 1,ACME", "ACME-1,Acme branch 1,BOLT")  # to another tree


def test_importing_a_version_or_master_data_from_the_command_line_recalculates(tmp_path):
    def accrue(*args: str) -> str:
        result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "books"), *args])
        assert result.exit_code == 0, result.output
        return result.output

    def owed() -> str:
        return accrue("ledger", "liability", "--by", "partner_id")

    partners = write_csv(
        tmp_path / "partners.csv",
        ("id", "name", "parent_id", "segment", "region"),
        [(p.id, p.name, p.parent_id or "", p.segment, p.region) for p in PARTNERS],
    )
    products = write_csv(
        tmp_path / "products.csv",
        ("sku", "name", "category", "product_line"),
        [(p.sku, p.name, p.category, p.product_line) for p in PRODUCTS],
    )
    program = tmp_path / "volume.yaml"
    program.write_text(VOLUME)
    accrue("init")
    accrue("import", "partners", str(partners))
    accrue("import", "products", str(products))
    accrue("import", "programs", str(program))
    lines = lines_file(tmp_path / "lines.csv", [sale("INV-1", "2026-02-10", "10000", "ACME-1")])
    accrue("import", "lines", str(lines), "--as-of", "2026-03-31")
    assert "ACME" in owed() and "200.00" in owed()

    program.write_text(VOLUME.replace("2%", "3%"))
    imported = accrue("import", "programs", str(program))
    assert "300.00" in owed() and "200.00" not in owed()
    assert "recalculated all" in imported

    partners.write_text(partners.read_text().replace(*BRANCH_MOVED))
    imported = accrue("import", "partners", str(partners))
    assert "BOLT" in owed() and "ACME" not in owed()
    assert "recalculated all" in imported


@pytest.fixture
def api(books_settings):
    opened = open_api(books_settings)
    yield opened
    opened.client.__exit__(None, None, None)


def test_importing_a_version_or_master_data_through_the_api_recalculates(api):
    def owed() -> dict[str, D]:
        rows = api.get("fin", "/api/ledger/liability", params={"by": "partner_id"})
        return {r["partner_id"]: D(r["outstanding"]) for r in api.ok(rows)["items"]}

    lines = lines_csv(line_rows("ACME-1", ["10000.00"]))
    api.ok(api.post("fin", "/api/batches", files={"file": ("q1.csv", lines)}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    assert owed() == {"ACME": D("200.00")}

    api.ok(api.yaml("pam", "/api/programs", PROGRAM.replace("rate: 2%", "rate: 3%")))
    assert owed() == {"ACME": D("300.00")}

    moved = partners_csv().decode().replace(*BRANCH_MOVED).encode()
    api.ok(api.post("ada", "/api/master/partners", files={"file": ("partners.csv", moved)}))
    assert owed() == {"BOLT": D("300.00")}


# --- any sequence of batches, closes and versions: the books equal a rebuild from scratch ----
# (a branch among the partners; versions that change the rate, the accounts, the currency, the
# minimum payout and the level measured). Sales only: a negative settlement charged to the
# partner before a late sale is a debit memo that books built after that sale never make.

QUARTERS = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
DAYS = ("2026-02-10", "2026-05-10", "2026-08-10", "2026-11-10")

batches = st.lists(
    st.tuples(
        st.sampled_from(("CORE", "BOLT", "ACME-1")),
        st.sampled_from(DAYS),
        st.integers(1, 40).map(lambda n: str(250 * n)),
    ),
    min_size=1,
    max_size=3,
).map(lambda rows: ("lines", rows))
versions = st.tuples(
    st.sampled_from(("2%", "5%")),
    st.booleans(),  # the accounts renamed
    st.sampled_from(("USD", "EUR")),
    st.sampled_from((0, 100)),  # the minimum payout
    st.sampled_from(("self", "top")),  # the level measured
).map(lambda version: ("version", version))
events = st.lists(st.one_of(batches, versions, st.just(("close", None))), max_size=4)


def version_text(rate: str, renamed: bool, currency: str, minimum: int, rollup="self") -> str:
    text = TEN.replace("10%", rate).replace("rollup: self", f"rollup: {rollup}")
    text += f"currency: {currency}\nminimum_payout: {minimum}\n"
    return text + RENAMED.removeprefix(TEN) if renamed else text


def _open(folder: Path) -> Books:
    settings_ = Settings(data_dir=folder / "books", actor="tester")
    books = Books.init(settings_, clock=lambda: datetime(2026, 11, 24, 12, tzinfo=UTC))
    return with_fx(with_master(books, folder), folder)


def _receive(books, folder: Path, name: str, rows) -> None:
    lines = [sale(f"{name}-{i}", day, amount, partner) for i, (partner, day, amount) in rows]
    receive(books, lines_file(folder / f"{name}.csv", lines))


def _takes_effect(books, stored: list) -> date | None:
    """The first open quarter after the newest version's start (None for the first)."""
    if not stored:
        return None
    with books.session() as session:
        start = Closed(session.scalars(select(ClosedPeriod.label))).next_open(
            Period.parse(QUARTERS[0])
        )
    newest = stored[-1][1]
    while newest and start.start <= newest:
        start = start.next()
    return start.start


def owed_by_standings_and_settlements(books) -> dict[tuple[str, str], D]:
    """(partner, currency) → what is owed: every standing's amount, less what each settlement
    took of it (its amount, and late adjustments it took in), plus what it left unpaid and
    what the last one carried forward."""
    owed: defaultdict = defaultdict(D)
    carried = {}
    with books.session() as session:
        for row in session.scalars(select(StandingRow)):
            owed[(row.partner_id, row.currency)] += D(row.amount)
        for row in session.scalars(select(SettlementRow).order_by(SettlementRow.id)):
            key = (row.partner_id, row.currency)
            owed[key] += max(D(row.payout), D(0)) - D(row.paid)
            owed[key] -= D(row.amount) + D(row.adjustments)
            carried[(row.program_id, *key)] = D(row.carried_out)
    for (_, *key), amount in carried.items():
        owed[tuple(key)] += amount
    return {key: amount for key, amount in owed.items() if amount}


def liability_by_partner(books) -> dict[tuple[str, str], D]:
    with books.session() as session:
        rows = ledger.liability(session, books.liability_accounts(session), ("partner_id",))
    return {(row["partner_id"], row["currency"]): row["outstanding"] for row in rows}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions, events)
@example(  # the accounts renamed after a batch
    ("version", ("2%", False, "USD", 0)),
    [("lines", [("CORE", DAYS[0], "500")]), ("version", ("2%", True, "USD", 0))],
)
@example(  # USD to EUR after a close that carried an amount forward; then late USD data
    ("version", ("5%", False, "USD", 100)),
    [
        ("lines", [("CORE", DAYS[0], "1000")]),
        ("close", None),
        ("version", ("5%", False, "EUR", 100)),
        ("lines", [("CORE", DAYS[0], "1000"), ("CORE", DAYS[1], "5000")]),
        ("close", None),
    ],
)
@example(  # a branch's sale measured on its own, then at its top parent from Q2 on
    ("version", ("2%", False, "USD", 0, "self")),
    [
        ("lines", [("ACME-1", DAYS[0], "500"), ("ACME-1", DAYS[1], "1000")]),
        ("close", None),
        ("version", ("5%", True, "USD", 0, "top")),
    ],
)
def test_any_sequence_of_batches_closes_and_versions_equals_a_rebuild(first, later):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stored, batches_, closes = [], [], []
        books = _open(folder / "incremental")
        try:
            for n, (kind, what) in enumerate([first, *later]):
                if kind == "lines":
                    batches_.append(what)
                    _receive(books, folder, f"batch{n}", enumerate(what))
                elif kind == "close" and len(closes) < len(QUARTERS):
                    closes.append(QUARTERS[len(closes)])
                    close_period(books, closes[-1], AS_OF)
                elif kind == "version":
                    effect = _takes_effect(books, stored)
                    if effect is None or effect.year == 2026:
                        imported = add_program(books, version_text(*what), takes_effect=effect)
                        if imported.status != "unchanged":
                            stored.append((version_text(*what), imported.program.takes_effect))
                        recalc(books, AS_OF)
            assert recalc(books, AS_OF, full=True).journals == 0, "again, it posts nothing"
            incremental = balances(books)
            assert liability_by_partner(books) == owed_by_standings_and_settlements(books)
        finally:
            books.close()
        rebuilt = _open(folder / "rebuilt")
        try:
            for text, effect in stored:
                add_program(rebuilt, text, takes_effect=effect)
            rows = [row for batch in batches_ for row in batch]
            _receive(rebuilt, folder, "all", enumerate(rows))
            for label in closes:
                close_period(rebuilt, label, AS_OF)
            assert balances(rebuilt) == incremental
        finally:
            rebuilt.close()

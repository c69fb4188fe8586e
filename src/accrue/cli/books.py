"""Commands on the books: init, import, recalc, close, pay, reverse, ledger, audit, trace,
quarantine. Where the books are comes from ACCRUE_DATA_DIR / ACCRUE_DATABASE_URL or the
options before the command (`accrue --data-dir books import lines sales.csv`). Each command
imports the store when it runs, so that starting any command does not load SQLAlchemy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from accrue.cli.app import (
    app,
    console,
    errors,
    parse_date,
    progress_bar,
    record_id,
    record_option,
    reports_errors,
)
from accrue.domain.errors import Refused
from accrue.domain.ledger import PayoutMethod
from accrue.export.cells import write_csv

if TYPE_CHECKING:
    from accrue.settings import Settings
    from accrue.store.books import Books

imports = typer.Typer(help="Bring data into the books: master data, lines, programs.")
ledger_app = typer.Typer(help="The accrual ledger: trial balance, liability, journals.")
audit_app = typer.Typer(help="The tamper-evident audit trail.")
quarantine_app = typer.Typer(help="Rejected rows: list them, export them for correction.")
app.add_typer(imports, name="import")
app.add_typer(ledger_app, name="ledger")
app.add_typer(audit_app, name="audit")
app.add_typer(quarantine_app, name="quarantine")

_where: dict[str, object] = {}

# The keys of accrue.store.master.KINDS, named here so that registering their commands does not
# load the store (tests/test_startup.py checks that they agree).
MASTER_KINDS = ("partners", "products", "reps", "fx")

AsOf = Annotated[str | None, typer.Option(help="business date YYYY-MM-DD (default: today)")]
Recalculate = Annotated[
    bool, typer.Option(help="recompute what the import touched and post it to the ledger")
]


@app.callback()
def where(
    data_dir: Annotated[
        Path | None, typer.Option(help="folder of the embedded books [env ACCRUE_DATA_DIR]")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="records database URL [env ACCRUE_DATABASE_URL]")
    ] = None,
) -> None:
    """Accrue: rebate programs as data, computed exactly, with books that hold."""
    _where.clear()
    _where.update({k: v for k, v in (("data_dir", data_dir), ("database_url", database_url)) if v})


def settings() -> Settings:
    from accrue.settings import Settings

    return Settings(**_where)


def settings_given() -> dict[str, object]:
    """The settings given as options (the rest come from the environment)."""
    return dict(_where)


@contextmanager
def opened() -> Iterator[Books]:
    from accrue.store.books import Books

    books = Books.open(settings())
    try:
        yield books
    finally:
        books.close()


def _day(text: str | None, option: str = "--as-of") -> date:
    return parse_date(text, option) or date.today()


@app.command()
@reports_errors
def init() -> None:
    """Create the books (or bring their schema up to date)."""
    from accrue.store.books import Books

    chosen = settings()
    Books.init(chosen).close()
    console.print(f"books ready at {chosen.url.split('@')[-1]}", highlight=False)


@imports.command("lines")
@reports_errors
def import_lines_command(
    files: Annotated[list[Path], typer.Argument(help="CSV, Excel, Parquet or JSON files")],
    as_of: AsOf = None,
    recalculate: Recalculate = True,
) -> None:
    """Import sales, return and POS lines; bad rows go to quarantine, the rest is kept."""
    from accrue.app.books import import_lines

    with opened() as books:
        with progress_bar() as bar:
            task = bar.add_task("importing", total=len(files) + recalculate)

            def progress(done: int, of: int, doing: str) -> None:
                bar.update(task, completed=done, total=of, description=doing)

            chosen = [(path, None) for path in files]
            imported = import_lines(books, chosen, _day(as_of), recalculate, progress)
            bar.update(task, completed=len(files) + recalculate)
        for received in imported.received:
            _show_received(received)
        _refreshed(books, imported.refreshed)
    if imported.rejected:
        raise typer.Exit(1)


def _show_received(received) -> None:
    console.print(received.summary, highlight=False)
    for rejection in received.rejections[:10]:
        errors.print(f"  rejected {rejection.problem}", highlight=False)
    if received.batch.rejected:
        errors.print(
            f"  {received.batch.rejected} row(s) kept in quarantine: "
            f"accrue quarantine export {received.batch.id} --out fix.csv",
            highlight=False,
        )


@imports.command("programs")
@reports_errors
def import_programs_command(
    paths: Annotated[list[Path], typer.Argument(help="program YAML files or folders")],
    effective: Annotated[
        str | None, typer.Option("--from", help="a change takes effect from (a period start)")
    ] = None,
    as_of: AsOf = None,
    recalculate: Recalculate = True,
) -> None:
    """Import programs; a changed program becomes a new version, and everything is recomputed."""
    from accrue.app.books import import_programs
    from accrue.ingest.programs import load_programs, program_files

    with opened() as books:
        found = load_programs(paths)  # every file checked before any is imported
        sources = [path.read_text(encoding="utf-8") for path in program_files(paths)]
        imported = import_programs(
            books, found, _day(as_of), parse_date(effective, "--from"), recalculate, sources
        )
        for program in imported.received:
            console.print(program.summary, highlight=False)
        _refreshed(books, imported.refreshed)


def _master_command(kind: str):
    @reports_errors
    def command(
        path: Annotated[Path, typer.Argument(help="CSV or Excel file")],
        as_of: AsOf = None,
        recalculate: Recalculate = True,
    ) -> None:
        from accrue.app.books import import_master
        from accrue.store.master import batch_summary

        with opened() as books:
            imported = import_master(books, kind, path, _day(as_of), recalculating=recalculate)
            console.print(batch_summary(imported.received[0]), highlight=False)
            _refreshed(books, imported.refreshed)

    command.__doc__ = f"Import {kind} (upsert by key; history kept); a change recomputes all."
    return command


for _kind in MASTER_KINDS:
    imports.command(_kind)(_master_command(_kind))


@app.command("recalc")
@reports_errors
def recalc_command(
    as_of: AsOf = None,
    full: Annotated[bool, typer.Option(help="recompute everything, not only what changed")] = False,
) -> None:
    """Recompute standings that changed and post their deltas to the ledger."""
    from accrue.app.books import recalculate

    with opened() as books:
        _refreshed(books, recalculate(books, _day(as_of), full))


def _refreshed(books: Books, refreshed) -> None:
    """What a recalculation did; the alerts it raised are delivered now (no server here)."""
    if refreshed is None:
        return
    console.print(refreshed.summary, highlight=False)
    if refreshed.alerts:
        _deliver(books)


def _deliver(books: Books) -> None:
    from accrue.app.books import send_alerts

    console.print(f"outbox: {send_alerts(books).summary}", highlight=False)


@app.command()
@reports_errors
def deliver() -> None:
    """Deliver the e-mails and webhooks that are due (the server does this on its own), then
    show every message not delivered yet: to retry, or failed after its last attempt."""
    from sqlalchemy import select

    from accrue.store.tables import OutboxRow

    with opened() as books:
        _deliver(books)
        with books.session() as session:
            waiting = session.scalars(
                select(OutboxRow).where(OutboxRow.status != "delivered").order_by(OutboxRow.id)
            ).all()
    if waiting:
        columns = ["id", "channel", "about", "status", "attempts", "next attempt", "last error"]
        rows = [
            (m.id, m.channel, m.reference, m.status, m.attempts, m.next_attempt_at, m.last_error)
            for m in waiting
        ]
        console.print(table("Not delivered", columns, rows, right=("id", "attempts")))


@app.command()
@reports_errors
def close(
    period: Annotated[str, typer.Argument(help="2026-Q1, 2026-03, 2026-H1 or 2026")],
    as_of: AsOf = None,
    force_reason: Annotated[
        str | None,
        typer.Option(help="close a period that has not ended; the reason goes to the audit"),
    ] = None,
) -> None:
    """Close a period: settle its standings, carry forward, charge back, lock it; print the
    audit head after it, to keep outside the books (see `audit head`)."""
    from accrue.app.books import close_period
    from accrue.store.audit import head_of

    with opened() as books:
        closed = close_period(books, period, _day(as_of), force_reason)
        console.print(closed.summary, highlight=False)
        console.print(
            f"audit head {head_of(books)} (keep it outside the books: "
            "`accrue audit verify --head` it later)",
            highlight=False,
            soft_wrap=True,
        )


@app.command("pay")
@reports_errors
def pay_command(
    settlement: Annotated[int, record_id("settlement id")],
    method: Annotated[PayoutMethod, typer.Option(help="how it is paid")],
    reference: Annotated[str, typer.Option(help="memo, transfer or check number")] = "",
    on: Annotated[str | None, typer.Option(help="payment date (default: today)")] = None,
) -> None:
    """Pay a settlement (credit memo, bank transfer or check)."""
    from accrue.app.books import pay

    with opened() as books:
        journal = pay(books, settlement, method, reference, _day(on, "--on"))
    console.print(f"settlement {settlement} paid: journal {journal}", highlight=False)


@app.command("reverse")
@reports_errors
def reverse_command(
    journal: Annotated[int, record_id("payout journal id")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
    on: Annotated[str | None, typer.Option(help="date (default: today)")] = None,
) -> None:
    """Reverse a payout (voided check, returned transfer)."""
    from accrue.app.books import reverse

    with opened() as books:
        reversal = reverse(books, journal, reason, _day(on, "--on"))
    console.print(f"journal {journal} reversed by journal {reversal}", highlight=False)


def table(title: str, columns: list[str], rows, right=()) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*(str(value) for value in row))
    return table


@ledger_app.command("trial-balance")
@reports_errors
def trial_balance() -> None:
    """Debits and credits by account; they must agree."""
    from accrue.store import ledger

    with opened() as books, books.session() as session:
        balances = ledger.trial_balance(session)
    rows = [(b.account, b.currency, f"{b.debit:,}", f"{b.credit:,}") for b in balances]
    console.print(
        table(
            "Trial balance",
            ["account", "currency", "debit", "credit"],
            rows,
            right=("debit", "credit"),
        )
    )
    by_currency: dict[str, int] = {}
    for b in balances:
        by_currency[b.currency] = by_currency.get(b.currency, 0) + b.net
    unbalanced = {c: v for c, v in by_currency.items() if v}
    if unbalanced:
        errors.print(f"[bold red]the ledger does not balance:[/] {unbalanced}")
        raise typer.Exit(1)
    console.print("debits equal credits in every currency", highlight=False)


@ledger_app.command("liability")
@reports_errors
def liability(
    by: Annotated[str, typer.Option(help="program_id, partner_id, period, booked_period")] = (
        "program_id"
    ),
) -> None:
    """Earned and not yet paid, right now, by program, partner or period."""
    from accrue.store import ledger

    dimensions = tuple(d.strip() for d in by.split(",") if d.strip())
    allowed = {"program_id", "partner_id", "period", "booked_period"}
    if not dimensions or set(dimensions) - allowed:
        raise Refused(f"--by: choose from {', '.join(sorted(allowed))}")
    with opened() as books, books.session() as session:
        rows = ledger.liability(session, books.liability_accounts(session), dimensions)
    columns = [*dimensions, "currency", "outstanding"]
    console.print(
        table(
            "Accrued liability",
            columns,
            ([r[c] if c != "outstanding" else f"{r[c]:,}" for c in columns] for r in rows),
            right=("outstanding",),
        )
    )


@ledger_app.command("journals")
@reports_errors
def journals(out: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None):
    """Every journal and posting as exact CSV, in posting order."""
    from accrue.store import ledger

    with opened() as books, books.session() as session:
        rows = list(ledger.journal_rows(session))
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    write_csv(handle, ledger.JOURNAL_COLUMNS, rows)
    if out:
        handle.close()
        console.print(f"wrote {len(rows)} postings to {out}", highlight=False)


@ledger_app.command("settlements")
@reports_errors
def settlements(period: Annotated[str | None, typer.Option(help="only this period")] = None):
    """Settlements: what each period settled, paid and carried."""
    from sqlalchemy import select

    from accrue.store.tables import SettlementRow

    with opened() as books, books.session() as session:
        query = select(SettlementRow).order_by(SettlementRow.id)
        if period:
            query = query.where(SettlementRow.period == period)
        found = session.scalars(query).all()
    columns = [
        "id",
        "program",
        "partner",
        "period",
        "amount",
        "adjustments",
        "carried in",
        "payout",
        "carried out",
        "paid",
    ]
    rows = [
        (
            s.id,
            f"{s.program_id} v{s.version}",
            s.partner_id,
            s.period,
            s.amount,
            s.adjustments,
            s.carried_in,
            s.payout,
            s.carried_out,
            s.paid,
        )
        for s in found
    ]
    console.print(table("Settlements", columns, rows, right=columns[4:]))


@audit_app.command("verify")
@reports_errors
def audit_verify(
    head: Annotated[
        str | None,
        typer.Option(help="a head exported earlier (`accrue audit head`): the trail must hold it"),
    ] = None,
) -> None:
    """Check the hash chain and everything it sealed; exit 1 on any break."""
    from accrue.domain.audit import Head
    from accrue.store.audit import verify_books

    expected = Head.parse(head) if head else None
    with opened() as books:
        verified = verify_books(books, expected)
    if not verified.ok:
        for problem in verified.problems:
            errors.print(f"[bold red]✗[/] {problem}", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"audit trail intact: {verified.entries} entries, head {verified.head[:16]}",
        highlight=False,
    )


@audit_app.command("head")
@reports_errors
def audit_head() -> None:
    """Print the newest entry as `seq:hash`: keep it outside the books, and give it to
    `accrue audit verify --head` later to prove no newest entry was deleted."""
    from accrue.store.audit import head_of

    with opened() as books:
        console.print(str(head_of(books)), highlight=False, soft_wrap=True)


@app.command("trace")
@reports_errors
def trace_command(
    settlement: Annotated[int, record_id("settlement id")],
    lines: Annotated[int, typer.Option(help="lines shown (largest shares first)")] = 20,
) -> None:
    """Why this amount: program version, journals and every line's share."""
    from accrue.store.trace import trace

    with opened() as books:
        found = trace(books, settlement)
    s = found.settlement
    console.print(
        f"settlement {s.id}: {s.program_id} · {s.partner_id} · {s.period} · amount "
        f"{s.currency} {s.amount} (+ adjustments {s.adjustments}, carried in {s.carried_in}) → "
        f"payout {s.payout}, carried out {s.carried_out}, paid {s.paid}\n"
        f"program version {found.program_ref}; lines as of batch {s.lines_as_of_batch}; "
        f"measure {found.standing['measure']} → {found.standing['tier_name'] or 'no tier'}",
        highlight=False,
    )
    verdict = "reproduces" if found.reproduced else "DOES NOT reproduce"
    console.print(
        f"recomputed from those lines: {found.recomputed} — {verdict} the settled amount",
        highlight=False,
    )
    rows = [
        (
            j["journal"],
            j["kind"],
            j["booked_period"],
            j["account"],
            j["debit"],
            j["credit"],
            j["memo"],
        )
        for j in found.journals
    ]
    console.print(
        table(
            "Journals",
            ["journal", "kind", "booked", "account", "debit", "credit", "memo"],
            rows,
            right=("debit", "credit"),
        )
    )
    shares = sorted(found.attributions, key=lambda a: -abs(a.share))[:lines]
    console.print(
        table(
            f"Lines ({len(found.attributions)}; largest shares first)",
            ["date", "document", "line", "sku", "line amount", "share"],
            ((a.date, a.document, a.line_no, a.sku, a.line_amount, a.share) for a in shares),
            right=("line amount", "share"),
        )
    )
    if not found.reproduced:
        raise typer.Exit(1)


@quarantine_app.command("list")
@reports_errors
def quarantine_list(
    batch: Annotated[int | None, record_option(help="only this batch")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="include resolved rows")] = False,
) -> None:
    """Rejected rows with file, row, field, value and reason."""
    from sqlalchemy import select

    from accrue.store.tables import Batch, RejectedRow

    with opened() as books, books.session() as session:
        query = select(RejectedRow).order_by(RejectedRow.id)
        if batch is not None:
            query = query.where(RejectedRow.batch_id == batch)
        if not all_rows:
            query = query.where(RejectedRow.resolved_by.is_(None))
        found = session.scalars(query).all()
        names = dict(session.execute(select(Batch.id, Batch.source_name)).all())
    rows = [
        (
            r.batch_id,
            f"{names[r.batch_id]}:{r.row_no}",
            r.field,
            r.value,
            r.message,
            r.resolved_by or "",
        )
        for r in found
    ]
    console.print(
        table("Quarantine", ["batch", "where", "field", "value", "reason", "resolved by"], rows)
    )


@quarantine_app.command("export")
@reports_errors
def quarantine_export(
    batch: Annotated[int, record_id("batch id")],
    out: Annotated[Path, typer.Option(help="CSV to correct and import again")],
) -> None:
    """A batch's open rejected rows as a CSV to fix and import again; `problem` says what."""
    from accrue.store.ingest import correction_csv

    with opened() as books:
        text, count = correction_csv(books, batch)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {count} rows to {out}", highlight=False)

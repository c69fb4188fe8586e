"""Claims from the command line: agreements, ship-and-debit claims (844, CSV, Excel, JSON)
and their answers (849 or CSV), fund balances, the leakage report, and approvals. Each command
imports the store when it runs, so that starting any command does not load SQLAlchemy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accrue.cli.app import app, console, parse_amount, record_id, reports_errors
from accrue.cli.books import imports, opened, table
from accrue.domain.errors import NotFound, Refused

claims_app = typer.Typer(help="Ship-and-debit and fund claims, and what they prevented.")
app.add_typer(claims_app, name="claims")


@imports.command("agreements")
@reports_errors
def import_agreements(path: Annotated[Path, typer.Argument(help="CSV or Excel file")]) -> None:
    """Import ship-and-debit agreements (a changed agreement becomes a new version)."""
    from accrue.app.claims import import_agreements as imported

    with opened() as books:
        batch = imported(books, path)
    console.print(
        f"batch {batch.id}: {batch.received} agreements, {batch.accepted} new or changed",
        highlight=False,
    )


@claims_app.command("submit")
@reports_errors
def submit(path: Annotated[Path, typer.Argument(help="X12 844, CSV, Excel or JSON file")]) -> None:
    """Receive claims and answer every line (sending the same claim again changes nothing)."""
    from accrue.app.claims import submit_claim_file

    with opened() as books:
        for row in submit_claim_file(books, path, str(path)):
            _show(books, row.id)


@claims_app.command("fund")
@reports_errors
def fund(
    partner: Annotated[str, typer.Option(help="partner id")],
    program: Annotated[str, typer.Option(help="fund program id")],
    number: Annotated[str, typer.Option(help="the claim's number")],
    amount: Annotated[str, typer.Option(help="amount asked for, e.g. 1200.00")],
    description: Annotated[str, typer.Option(help="what the money was spent on")],
    proof: Annotated[Path, typer.Option(help="proof of performance: PDF, PNG or JPEG")],
) -> None:
    """Spend a market development fund (approved up to what is available, oldest first)."""
    from accrue.app.claims import submit_fund_claim
    from accrue.store.funds import Proof

    with opened() as books:
        row = submit_fund_claim(
            books,
            partner,
            program_id=program,
            number=number,
            amount=parse_amount(amount, "--amount"),
            description=description,
            proof=Proof(proof.name, proof.read_bytes()),
        )
        _show(books, row.id)


def _show(books, claim_id: int) -> None:
    from sqlalchemy import select

    from accrue.domain.shipdebit import Reason
    from accrue.store.tables import ClaimLineRow, ClaimRow

    with books.session() as session:
        claim = session.get(ClaimRow, claim_id)
        if claim is None:
            raise NotFound(f"no claim {claim_id}")
        lines = session.scalars(
            select(ClaimLineRow)
            .where(ClaimLineRow.claim_id == claim_id)
            .order_by(ClaimLineRow.line_no)
        ).all()
    console.print(
        f"claim {claim.id} ({claim.number}, {claim.partner_id}): approved {claim.currency} "
        f"{claim.approved}, prevented {claim.prevented} — {claim.status}",
        highlight=False,
    )
    fields = (
        "line_no",
        "invoice",
        "invoice_line",
        "sku",
        "quantity",
        "outcome",
        "approved_quantity",
        "amount",
    )
    rows = [
        (
            *(getattr(line, f) for f in fields),
            f"{line.reason} {Reason(line.reason).text}" if line.reason else "",
        )
        for line in lines
    ]
    columns = [
        "line",
        "invoice",
        "inv. line",
        "sku",
        "claimed",
        "outcome",
        "approved",
        "amount",
        "reason",
    ]
    console.print(table("Lines", columns, rows, right=("claimed", "approved", "amount")))


@claims_app.command("show")
@reports_errors
def show(claim: Annotated[int, record_id("claim id")]) -> None:
    """A claim and the answer to each of its lines."""
    with opened() as books:
        _show(books, claim)


@claims_app.command("response")
@reports_errors
def response(
    claim: Annotated[int, record_id("claim id")],
    format: Annotated[str, typer.Option(help="x12 (an 849) or csv")] = "x12",
    out: Annotated[Path | None, typer.Option(help="file (default: stdout)")] = None,
) -> None:
    """The answer to a ship-and-debit claim: an X12 849, or CSV."""
    from accrue.store import claims as store

    if format not in ("x12", "csv"):
        raise Refused("--format: x12 or csv")
    with opened() as books:
        text = (
            store.response_849(books, claim)
            if format == "x12"
            else store.response_csv(books, claim)
        )
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}", highlight=False)
    else:
        console.print(text, highlight=False, markup=False, end="")


@claims_app.command("funds")
@reports_errors
def funds() -> None:
    """Market development funds: accrued, used, expired and available today, by partner."""
    from accrue.store.funds import balances

    with opened() as books, books.session() as session:
        rows = balances(session, books, None, books.clock().date())
    columns = ["program_id", "partner_id", "currency", "accrued", "used", "expired", "available"]
    console.print(
        table("Funds", columns, ([r[c] for c in columns] for r in rows), right=columns[3:])
    )


@claims_app.command("leakage")
@reports_errors
def leakage() -> None:
    """What claims asked for and did not get, by reason: the leakage prevented."""
    from accrue.store import claims as store

    with opened() as books, books.session() as session:
        found = store.leakage(session)
    rows = [
        (
            r["kind"],
            f"{r['reason']} {r['reason_text']}",
            r["lines"],
            r["currency"],
            f"{r['prevented']:,}",
        )
        for r in found
    ]
    columns = ["kind", "reason", "lines", "currency", "prevented"]
    console.print(table("Leakage prevented", columns, rows, right=("lines", "prevented")))

"""Commands on files alone, no books needed: calc, explain, validate. Each imports what it
needs when it runs, so that starting any command does not load the engine."""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from accrue.cli.app import app, console, errors, parse_date, progress_bar, reports_errors
from accrue.domain.errors import Refused
from accrue.domain.money import readable_money, round_half_up


@app.command()
@reports_errors
def calc(
    data: Annotated[Path, typer.Option(help="data folder: partners.csv, products.csv, lines")],
    programs: Annotated[list[Path], typer.Option(help="program YAML files or folders")],
    as_of: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: periods up to and projections at")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="folder for standings and attributions")] = None,
    formats: Annotated[str, typer.Option("--format", help="csv,json,parquet")] = "csv,json",
    attributions: Annotated[bool, typer.Option(help="also write every line's share")] = True,
    show: Annotated[int, typer.Option(help="partners near a tier shown (0 = none)")] = 40,
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or spark")] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            envvar="ACCRUE_SPARK_MASTER",
            help="local[2] (default), spark://host:7077, yarn, or sc://host:15002 (Connect)",
        ),
    ] = None,
    spark_staging: Annotated[
        str | None,
        typer.Option(
            envvar="ACCRUE_SPARK_STAGING",
            help="folder the cluster reads the validated lines from (default: temporary)",
        ),
    ] = None,
) -> None:
    """Compute every program × partner × period standing."""
    from accrue.engine import Engine
    from accrue.ingest.dataset import line_files, load_directory
    from accrue.ingest.programs import load_programs
    from accrue.report import FORMATS

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise Refused(f"--format: unknown {', '.join(unknown)}; choose from csv, json, parquet")
    if engine not in ("duckdb", "spark"):
        raise Refused(f"--engine: unknown {engine}; choose from duckdb, spark")
    day = parse_date(as_of)
    loaded = load_programs(programs)
    with ExitStack() as stack:
        with progress_bar() as progress:
            files = progress.add_task("reading lines", total=len(line_files(data)))
            dataset = load_directory(data, progress=lambda _: progress.advance(files))
            if engine == "spark":
                from accrue.engine.backends import on_spark

                dataset = stack.enter_context(on_spark(dataset, spark_master, spark_staging))
            task = progress.add_task("computing programs", total=len(loaded))
            result = Engine(dataset).run(
                loaded, as_of=day, progress=lambda _: progress.advance(task)
            )
        _report(result, out, chosen, attributions, show)


def _report(result, out: Path | None, chosen: tuple[str, ...], attributions: bool, show: int):
    """Summary and closest partners on screen; standings and attributions to `out`."""
    from accrue.report import standing_row, write_parts, write_rows

    refs = result.program_refs
    rows = [standing_row(s, refs[s.program_id]) for s in result.standings]
    _print_summary(result)
    _print_closest(rows, show)
    console.print(f"{len(rows)} standings · inputs {result.input_digest}")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        written = write_rows(rows, out / "standings", chosen)
        if attributions:
            written += write_parts(result.attributions(), out / "attributions", chosen)
        console.print("wrote " + ", ".join(str(p) for p in written))


def _print_summary(result) -> None:
    """One row a program: what it owes in total and in its latest period."""
    table = Table(title="Programs", title_justify="left")
    for column in (
        "program",
        "version",
        "latest period",
        "partners",
        "earning",
        "amount",
        "total to date",
        "excluded or capped",
    ):
        table.add_column(column, justify="left" if column in ("program", "version") else "right")
    for program_id, ref in sorted(result.program_refs.items()):
        program, standings = result.programs[program_id], result.for_program(program_id)
        if not standings:
            continue
        latest = max(s.period for s in standings)
        now = [s for s in standings if s.period == latest]
        points = program.kind.value == "points"

        def total(items, points=points, program=program):
            if points:
                return f"{sum(s.points for s in items):,} pts"
            return readable_money(sum(s.amount for s in items), program.currency)

        table.add_row(
            program_id,
            ref.split("@")[1],
            latest.label,
            str(len(now)),
            str(sum(1 for s in now if s.amount or s.points)),
            total(now),
            total(standings),
            str(sum(1 for s in standings if s.status == "excluded" or s.cap_excess)),
        )
    console.print(table)


def _shown(value) -> str:
    """Screen text: long exact decimals (converted currency, units of measure) to 2 places."""
    if value is None:
        return ""
    text = str(value)
    whole, _, decimals = text.partition(".")
    shorter = len(decimals) > 2 and whole.lstrip("-").isdigit()
    return f"{round_half_up(Decimal(text), 2):f}" if shorter else text


def _print_closest(rows: list[dict], limit: int) -> None:
    """The standings nearest their next tier in each program's latest period: who to call."""
    if not limit:
        return
    latest = {}
    for row in rows:
        latest[row["program"]] = max(latest.get(row["program"], ""), row["period"])
    near = [r for r in rows if r["period"] == latest[r["program"]] and r["next_tier_pays"]]
    near.sort(key=lambda r: (r["program"], Decimal(r["gap_needed"])))
    table = Table(title="Closest to the next tier", title_justify="left")
    columns = (
        "program",
        "partner",
        "period",
        "measure",
        "tier_name",
        "amount",
        "gap_needed",
        "gap_unit",
        "next_tier_pays",
        "projected_amount",
    )
    for column in columns:
        table.add_column(
            column.replace("_", " "),
            justify="right"
            if column not in ("program", "partner", "period", "tier_name", "gap_unit")
            else "left",
        )
    shown = 0
    for program_id in sorted(latest):
        for row in [r for r in near if r["program"] == program_id][:2]:
            if shown < limit:
                table.add_row(*(_shown(row[c]) for c in columns))
                shown += 1
    console.print(table)


@app.command()
@reports_errors
def explain(program: Annotated[Path, typer.Argument(help="program YAML file")]) -> None:
    """A one-page plain-language summary with a worked example."""
    from accrue.explain import explain as explain_program
    from accrue.ingest.programs import load_program

    console.print(explain_program(load_program(program)), highlight=False, markup=False)


@app.command()
@reports_errors
def validate(programs: Annotated[list[Path], typer.Argument(help="program YAML files")]) -> None:
    """Check program documents; each problem names its field and how to fix it."""
    from accrue.domain.program import ProgramError
    from accrue.ingest.programs import load_program

    failed = False
    for path in programs:
        try:
            program = load_program(path)
        except ProgramError as error:
            failed = True
            errors.print(f"[red]✗[/] {error}", highlight=False)
            continue
        console.print(f"[green]✓[/] {path}: {program.ref} ({program.name})", highlight=False)
    if failed:
        raise typer.Exit(1)

"""Design analytics from the command line, as Rich tables (or CSV with --csv). Each command
imports its analysis when it runs, so that starting any command does not load the engine."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from accrue.cli.app import app, console, parse_date, reports_errors
from accrue.cli.books import opened, table
from accrue.domain.money import readable_money, readable_percent
from accrue.export.cells import write_csv

analyze = typer.Typer(help="Design analytics: calibrate, simulate, forecast, lift, unclaimed.")
app.add_typer(analyze, name="analyze")

AsCsv = Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")]


def _show(title: str, columns: list[str], rows: list[list], as_csv: bool, right=()) -> None:
    if as_csv:
        write_csv(sys.stdout, columns, rows)
    else:
        console.print(table(title, columns, rows, right=right))


@analyze.command("calibrate")
@reports_errors
def calibrate_command(
    program: Annotated[Path, typer.Argument(help="draft program YAML")],
    baseline: Annotated[
        str, typer.Option(help="a past period of the program's kind, e.g. 2025-Q2")
    ],
    by: Annotated[str, typer.Option(help="segment, region, or a partner attribute")] = "segment",
    as_csv: AsCsv = False,
) -> None:
    """Per segment: the measure's distribution and thresholds 15–25% above its median."""
    from accrue.analytics.calibration import calibrate_program
    from accrue.ingest.programs import load_program

    with opened() as books:
        found = calibrate_program(books, load_program(program), baseline, by)
    rows = [
        [
            c.segment,
            c.partners,
            *c.percentiles.values(),
            f"+{s.lift:.0%}",
            s.threshold,
            readable_percent(s.qualifying_share),
            s.cost,
        ]
        for c in found
        for s in c.suggestions
    ]
    columns = [
        by,
        "partners",
        "p10",
        "p25",
        "median",
        "p75",
        "p90",
        "lift",
        "threshold",
        "qualify as is",
        "cost if paid",
    ]
    _show(f"Calibration on {baseline}", columns, rows, as_csv, right=columns[1:])


@analyze.command("simulate")
@reports_errors
def simulate_command(
    drafts: Annotated[list[Path], typer.Argument(help="one or two draft program YAML files")],
    period: Annotated[str, typer.Option(help="a past period, e.g. 2026-Q2")],
    by: Annotated[str, typer.Option(help="segment, region, or a partner attribute")] = "segment",
    as_csv: AsCsv = False,
) -> None:
    """Each draft over the period's real lines, side by side, by segment; then what moving
    each threshold up 10% would change."""
    from accrue.analytics.simulation import simulate
    from accrue.ingest.programs import load_program

    with opened() as books:
        found = simulate(books, [load_program(p) for p in drafts], period, by)
    rows = [
        [
            s.program,
            segment,
            t.partners,
            t.qualifying,
            t.cost,
            t.revenue,
            t.cost_share,
            t.cost_per_partner,
        ]
        for s in found
        for segment, t in [("all", s.total), *sorted(s.segments.items())]
    ]
    columns = [
        "draft",
        by,
        "partners",
        "qualifying",
        "cost",
        "revenue",
        "cost/revenue",
        "cost/qualifying",
    ]
    _show(f"Simulation over {period}", columns, rows, as_csv, right=columns[2:])
    if not as_csv:
        moves = [[s.program, tier, at, delta] for s in found for tier, at, delta in s.sensitivity]
        console.print(
            table(
                "Thresholds +10%",
                ["draft", "tier", "moved to", "Δ cost"],
                moves,
                right=("moved to", "Δ cost"),
            )
        )


@analyze.command("forecast")
@reports_errors
def forecast_command(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    partners: Annotated[bool, typer.Option(help="every standing, not only by program")] = False,
    as_csv: AsCsv = False,
) -> None:
    """Projected liability by program at period end (run rate and seasonal)."""
    from accrue.analytics.forecasts import forecasts, projected_liability

    day = parse_date(as_of) or date.today()
    with opened() as books:
        found = forecasts(books, day)
    if partners:
        rows = [
            [
                f.program_id,
                f.partner_id,
                f.period,
                f.amount,
                f.run_rate.tier,
                f.run_rate.amount,
                f.seasonal.tier if f.seasonal else "",
                f.seasonal.amount if f.seasonal else "",
            ]
            for f in found
        ]
        columns = [
            "program",
            "partner",
            "period",
            "earned",
            "tier (rate)",
            "run rate",
            "tier (season)",
            "seasonal",
        ]
    else:
        rows = [list(r.values()) for r in projected_liability(found)]
        columns = ["program", "period", "currency", "earned", "run rate", "seasonal"]
    _show(f"Forecast as of {day}", columns, rows, as_csv, right=("earned", "run rate", "seasonal"))


@analyze.command("lift")
@reports_errors
def lift_command(
    program: Annotated[str, typer.Argument(help="program id")],
    baseline: Annotated[str, typer.Option(help="period before, e.g. 2025")],
    after: Annotated[str, typer.Option(help="period of the program, e.g. 2026")],
) -> None:
    """Enrolled against matched non-enrolled partners: the lift, its interval, the ROI."""
    from accrue.analytics.lift import lift

    with opened() as books:
        report = lift(books, program, baseline, after)
    rows = [
        [
            e.metric,
            e.treated_change,
            e.control_change,
            e.estimate,
            f"[{e.low}, {e.high}]",
            e.relative if e.relative is not None else "",
            f"[{e.relative_low}, {e.relative_high}]",
        ]
        for e in report.effects.values()
    ]
    columns = ["metric", "enrolled Δ", "matched Δ", "lift", "95% interval", "relative", "interval"]
    console.print(table(f"Lift of {program}: {baseline} → {after}", columns, rows))
    console.print(
        f"{report.matched} matched pairs, {report.unmatched} unmatched; balance {report.balance}; "
        f"incremental revenue {readable_money(report.incremental_revenue, report.currency)} "
        f"for rebates of {readable_money(report.rebate_cost, report.currency)}: "
        f"ROI {report.roi if report.roi is not None else 'n/a'}",
        highlight=False,
    )
    pairs = [
        [m.treated, m.control or "— none close enough —", m.distance or ""] for m in report.matches
    ]
    console.print(table("Matching", ["enrolled", "matched control", "distance"], pairs))
    for warning in report.warnings:
        console.print(f"[yellow]![/] {warning}", highlight=False)


@analyze.command("unclaimed")
@reports_errors
def unclaimed_command(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    as_csv: AsCsv = False,
) -> None:
    """Funds and ship-and-debit money partners could still claim, with the days left."""
    from accrue.analytics.unclaimed import unclaimed

    day = parse_date(as_of) or date.today()
    with opened() as books:
        found = unclaimed(books, day)
    rows = [
        [
            u.kind,
            u.program_id,
            u.partner_id,
            u.currency,
            u.unclaimed,
            u.claimed,
            readable_percent(u.share) if u.share is not None else "",
            u.days_left if u.days_left is not None else "",
            u.note,
        ]
        for u in found
    ]
    columns = [
        "kind",
        "program",
        "partner",
        "currency",
        "unclaimed",
        "claimed",
        "share",
        "days left",
        "note",
    ]
    _show(
        f"Unclaimed as of {day}",
        columns,
        rows,
        as_csv,
        right=("unclaimed", "claimed", "share", "days left"),
    )

"""Standings and attributions as flat rows, and those rows as CSV, JSON or Parquet files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from accrue.domain.money import money_text, readable_money
from accrue.domain.program import Kind
from accrue.domain.standings import Standing
from accrue.export.cells import inert_arrow

FORMATS = ("csv", "json", "parquet")


def quantity_text(value: Decimal | None) -> str | None:
    """Quantities leave as exact text without trailing zeros; never as a float."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def readable_gap(gap: Decimal, unit: str | None, currency: str) -> str:
    """The way to the next tier in the measure's unit: USD 4,000.00, or 40 units."""
    return readable_money(gap, currency) if unit == currency else f"{gap.normalize():,f} {unit}"


def standing_row(s: Standing, program_ref: str) -> dict:
    gap, projection = s.gap, s.projection
    return {
        "program": s.program_id,
        "program_version": program_ref,
        "partner": s.partner_id,
        "period": s.period.label,
        "currency": s.currency,
        "kind": s.kind.value,
        "status": s.status,
        "measure": quantity_text(s.measure),
        "baseline": quantity_text(s.baseline),
        "tier": s.tier,
        "tier_name": s.tier_name,
        "earned": money_text(s.earned, s.currency),
        "increment": money_text(s.increment, s.currency),
        "cap_excess": money_text(s.cap_excess, s.currency),
        "amount": money_text(s.amount, s.currency),
        "carried_in": money_text(s.carried_in, s.currency),
        "payout": money_text(s.payout, s.currency),
        "carried_out": money_text(s.carried_out, s.currency),
        "points": s.points,
        "gap_needed": quantity_text(gap.needed) if gap else None,
        "gap_unit": gap.unit if gap else None,
        "gap_detail": gap.detail if gap else None,
        "next_tier_pays": _next_tier_pays(s),
        "projected_measure": quantity_text(projection.measure) if projection else None,
        "projected_tier": projection.tier if projection else None,
        "projected_amount": money_text(projection.amount, s.currency) if projection else None,
        "note": s.note,
    }


def _next_tier_pays(s: Standing) -> str | None:
    if s.gap is None or s.gap.would_pay is None:
        return None
    if s.kind is Kind.POINTS:
        return quantity_text(s.gap.would_pay)
    return money_text(s.gap.would_pay, s.currency)


def write_rows(rows: list[dict], path_stem: Path, formats: tuple[str, ...]) -> list[Path]:
    """Money columns are text in every format so no reader turns them into floats."""
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    written = []
    for fmt in formats:
        path = path_stem.with_suffix(f".{fmt}")
        if fmt == "csv":
            pa_csv.write_csv(inert_arrow(table), path)
        elif fmt == "parquet":
            pq.write_table(table, path)
        else:
            path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def write_parts(parts, path_stem: Path, formats: tuple[str, ...]) -> list[Path]:
    """Relational results written from their backend, exact integers turned into decimal
    text by the backend itself (`part.as_text`): never row by row in Python. DuckDB writes
    Parquet itself, in parallel and in bounded memory; other formats and backends stream
    Arrow batches. JSON, meant for small results, is one array like `write_rows`."""
    if not parts:
        return write_rows([], path_stem, formats)
    tables = [part.as_text() for part in parts]
    written = []
    for fmt in formats:
        path = path_stem.with_suffix(f".{fmt}")
        batches = (batch for table in tables for batch in table.to_pyarrow_batches())
        if fmt == "parquet" and _writes_parquet_itself(tables[0]):
            combined = tables[0].union(*tables[1:]) if len(tables) > 1 else tables[0]
            combined._find_backend().to_parquet(combined, path)
        elif fmt == "json":
            rows = [row for batch in batches for row in batch.to_pylist()]
            text = json.dumps(rows, indent=1, ensure_ascii=False, default=str)
            path.write_text(text + "\n", encoding="utf-8")
        else:
            _stream(batches, path, fmt)
        written.append(path)
    return written


def _writes_parquet_itself(table) -> bool:
    return table._find_backend().name == "duckdb"


def _stream(batches, path: Path, fmt: str) -> None:
    writer = None
    try:
        for batch in batches:
            batch = batch if fmt == "parquet" else inert_arrow(batch)
            if writer is None:
                open_writer = pq.ParquetWriter if fmt == "parquet" else pa_csv.CSVWriter
                writer = open_writer(str(path), batch.schema)
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()

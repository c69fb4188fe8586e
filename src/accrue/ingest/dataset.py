"""A data directory → DataSet: partners.csv, products.csv, lines (CSV or Parquet, one file or
a lines/ folder), and optional fx.csv and reps.csv."""

from __future__ import annotations

from pathlib import Path

import ibis

from accrue.engine.dataset import DataSet
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.lines import load_lines
from accrue.ingest.master import read_fx, read_partners, read_products, read_reps


def line_files(directory: Path) -> list[Path]:
    folder = directory / "lines"
    candidates = sorted(folder.glob("*")) if folder.is_dir() else sorted(directory.glob("lines.*"))
    files = [p for p in candidates if p.suffix.lower() in (".csv", ".parquet")]
    if not files:
        raise InputError(
            [Problem(str(directory), None, None, None, "no lines.csv, lines.parquet or lines/")]
        )
    return files


def load_directory(directory: Path, backend=None, progress=None) -> DataSet:
    for name in ("partners.csv", "products.csv"):
        if not (directory / name).is_file():
            raise InputError([Problem(str(directory / name), None, None, None, "file not found")])
    partners = read_partners(directory / "partners.csv")
    products = read_products(directory / "products.csv")
    fx = read_fx(directory / "fx.csv") if (directory / "fx.csv").is_file() else []
    reps = read_reps(directory / "reps.csv") if (directory / "reps.csv").is_file() else []
    backend = backend or ibis.duckdb.connect()
    lines, lines_hash = load_lines(
        backend,
        line_files(directory),
        [p.id for p in partners],
        [p.sku for p in products],
        progress,
    )
    return DataSet(
        partners=partners,
        products=products,
        lines=lines,
        fx_rates=fx,
        reps=reps,
        lines_hash=lines_hash,
    )

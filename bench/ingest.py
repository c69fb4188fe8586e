"""Ingest benchmark: a line CSV received into the books (validated row by row, deduplicated
against what is stored, written to the line store, counted and audited) against DuckDB's own
`read_csv` of the same file into a table, measured in the same run.

    python bench/ingest.py --lines 1000000      # generates bench/data/1000000 on first use
    python bench/ingest.py --database-url postgresql://postgres@127.0.0.1/accrue_bench

Prints seconds, lines a second and ratios to the baseline; the books go to a temporary folder
(or the given PostgreSQL database, which must exist and is emptied first).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import peak_mib, timed  # noqa: E402

from accrue.settings import Settings  # noqa: E402
from accrue.store.books import Books  # noqa: E402
from accrue.store.ingest import import_lines  # noqa: E402
from accrue.store.master import import_master  # noqa: E402


def lines_csv(data: Path) -> Path:
    """The generated lines as the CSV a partner would send."""
    path = data / "lines.csv"
    if not path.exists():
        duckdb.execute(
            f"COPY (SELECT * FROM read_parquet('{data / 'lines.parquet'}')) TO '{path}' "
            "(HEADER, DELIMITER ',')"
        )
    return path


def baseline(path: Path) -> int:
    """DuckDB's own CSV reader, types sniffed, into an in-memory table."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE lines AS SELECT * FROM read_csv('{path}')")
    return con.execute("SELECT count(*) FROM lines").fetchone()[0]


def empty_books(folder: Path, database_url: str | None) -> Books:
    settings = Settings(data_dir=folder, database_url=database_url, actor="bench")
    if database_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(settings.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    return Books.init(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = args.data or HERE / "data" / str(args.lines)
    if not (data / "lines.parquet").exists():
        seconds, _ = timed(lambda: generate(args.lines, data))
        print(f"generated {args.lines:,} lines in {seconds:.1f} s → {data}")
    path = lines_csv(data)

    base_s, rows = timed(lambda: baseline(path), repeat=3)
    with tempfile.TemporaryDirectory() as folder:
        books = empty_books(Path(folder), args.database_url)
        for kind in ("partners", "products"):
            import_master(books, kind, data / f"{kind}.csv")
        first_s, first = timed(lambda: import_lines(books, path))
        again_s, again = timed(lambda: import_lines(books, path))
        books.close()

    assert first.batch.accepted == rows, (first.summary, rows)
    assert again.batch.duplicate == rows, again.summary
    backend = "PostgreSQL" if args.database_url else "embedded (SQLite + DuckDB)"
    print(f"lines                        {rows:>12,}   {path.stat().st_size / 2**20:,.0f} MiB CSV")
    print(f"books                        {backend}")
    print(f"DuckDB read_csv (s)          {base_s:>12.2f}   baseline")
    print(
        f"import, all new (s)          {first_s:>12.2f}   {first_s / base_s:8.1f}×"
        f"   {rows / first_s:>10,.0f} lines/s"
    )
    print(
        f"same file again (s)          {again_s:>12.2f}   {again_s / base_s:8.1f}×"
        f"   {rows / again_s:>10,.0f} lines/s (all duplicates, nothing changed)"
    )
    print(f"peak memory (MiB)            {peak_mib():>12.0f}")


if __name__ == "__main__":
    main()

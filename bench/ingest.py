"""Ingest benchmark: a line CSV received into the books (validated row by row, deduplicated
against what is stored, written to the line store, counted and audited) against DuckDB's own
`read_csv` of the same file into a table, measured in the same run.

    python bench/ingest.py --lines 1000000      # generates bench/data/1000000 on first use
    python bench/ingest.py --data /tmp/ingest-1m --database-url postgresql://postgres@127.0.0.1/b

`--data` is a folder with partners.csv, products.csv and lines.csv (or generated data, whose
lines.parquet is written out as a CSV in a temporary folder, so the data folder keeps one line
file). The embedded books go to a temporary folder; with `--database-url` the same imports run
on PostgreSQL too (the database must exist and is emptied first). Prints seconds and each
import's throughput as a share of DuckDB's (0.30× means 30% of read_csv's lines a second).
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


def lines_csv(data: Path, scratch: Path) -> Path:
    """The lines as the CSV a partner would send: the folder's own, or the generated Parquet
    written out in `scratch` (beside the Parquet, `bench/run.py` would find two line files)."""
    if (data / "lines.csv").exists():
        return data / "lines.csv"
    path = scratch / "lines.csv"
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


def imports(data: Path, path: Path, database_url: str | None) -> tuple[float, float]:
    """Seconds to import the file into empty books, then the same file again."""
    with tempfile.TemporaryDirectory() as folder:
        books = empty_books(Path(folder), database_url)
        for kind in ("partners", "products"):
            import_master(books, kind, data / f"{kind}.csv")
        first_s, first = timed(lambda: import_lines(books, path))
        again_s, again = timed(lambda: import_lines(books, path))
        books.close()
    assert first.batch.accepted == first.batch.received, first.summary
    assert again.batch.duplicate == again.batch.received, again.summary
    return first_s, again_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = args.data or HERE / "data" / str(args.lines)
    if not (data / "lines.csv").exists() and not (data / "lines.parquet").exists():
        seconds, _ = timed(lambda: generate(args.lines, data))
        print(f"generated {args.lines:,} lines in {seconds:.1f} s → {data}")
    stores = {"embedded (SQLite + DuckDB)": None}
    if args.database_url:
        stores["PostgreSQL"] = args.database_url
    with tempfile.TemporaryDirectory() as scratch:
        path = lines_csv(data, Path(scratch))
        base_s, rows = timed(lambda: baseline(path), repeat=3)
        print(f"lines                  {rows:>12,}   {path.stat().st_size / 2**20:,.0f} MiB CSV")
        print(f"DuckDB read_csv (s)    {base_s:>12.2f}   baseline, {rows / base_s:,.0f} lines/s")
        for store, url in stores.items():
            first_s, again_s = imports(data, path, url)
            print(store)
            for label, seconds in (("first import", first_s), ("same file again", again_s)):
                print(
                    f"  {label + ' (s)':<20} {seconds:>12.2f}   {base_s / seconds:8.2f}× "
                    f"read_csv   {rows / seconds:>10,.0f} lines/s"
                )
    print(f"peak memory (MiB)      {peak_mib():>12.0f}")


if __name__ == "__main__":
    main()

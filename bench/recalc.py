"""The books' own recalculation, in process (no server): what `accrue recalc` costs beside the
engine — reading the books, storing standings, posting journals, sealing, auditing.

    python bench/recalc.py --lines 20000            # generates bench/data/20000 on first use
    python bench/recalc.py --lines 20000 --posts 5 --database-url postgresql://postgres@127.0.0.1/b

Builds empty books (embedded in a temporary folder, or the PostgreSQL database, emptied first)
with the data's master data, the programs of bench/programs and the lines, then times a first
full recalculation (every standing new, every journal posted), the same again (nothing
changes), and `--posts` single lines each posted and recalculated (its partner tree, and the
programs shared by every partner).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from ingest import empty_books  # noqa: E402
from run import peak_mib, timed  # noqa: E402

from accrue.domain.program import parse_program  # noqa: E402
from accrue.store.ingest import import_lines, import_payload  # noqa: E402
from accrue.store.master import import_master  # noqa: E402
from accrue.store.programs import import_program  # noqa: E402
from accrue.store.recalc import recalc  # noqa: E402

AS_OF = date(2026, 12, 31)


def one_line(n: int, partner: str) -> dict:
    return {
        "source": "bench",
        "document": f"ONE{n}",
        "line_no": 1,
        "kind": "sale",
        "partner_id": partner,
        "sku": "S0001",
        "date": "2026-11-15",
        "quantity": "1",
        "amount": "100.00",
        "currency": "USD",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--partner", default="P00003", help="whose lines are posted")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = HERE / "data" / str(args.lines)
    if not (data / "lines.parquet").exists():
        generate(args.lines, data)
    with tempfile.TemporaryDirectory() as folder:
        books = empty_books(Path(folder), args.database_url)
        for kind in ("partners", "products", "reps", "fx"):
            import_master(books, kind, data / f"{kind}.csv")
        for path in sorted((HERE / "programs").glob("*.yaml")):
            import_program(books, parse_program(path.read_text(), path.name))
        seconds, _ = timed(lambda: import_lines(books, data / "lines.parquet"))
        print(f"{args.lines:,} lines imported in {seconds:.1f} s", flush=True)
        for label in ("first full recalculation", "full recalculation again"):
            seconds, done = timed(lambda: recalc(books, AS_OF, full=True))
            print(f"{label:<28} {seconds:8.1f} s   {done.summary}", flush=True)
        for n in range(args.posts):
            line = [one_line(n, args.partner)]
            posted, _ = timed(lambda line=line: import_payload(books, line[0]["document"], line))
            seconds, done = timed(lambda: recalc(books, AS_OF))
            print(
                f"one line: posted {posted * 1000:6.0f} ms, recalculated {seconds:6.1f} s   "
                f"{done.summary}",
                flush=True,
            )
        books.close()
    print(f"peak memory (MiB)            {peak_mib():8.0f}")


if __name__ == "__main__":
    main()

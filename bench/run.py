"""Engine benchmark: a full recalculation of the 20 programs in bench/programs against a bare
DuckDB GROUP BY over the same lines, measured in the same run.

    python bench/run.py --lines 1000000      # generates bench/data/1000000 on first use

Prints seconds, ratios to the bare aggregate (the baseline) and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import ibis

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from accrue.engine import Engine  # noqa: E402
from accrue.ingest.dataset import load_directory  # noqa: E402
from accrue.ingest.programs import load_programs  # noqa: E402

BARE = (
    "SELECT partner_id, year(date), quarter(date), sum(quantity_milli), sum(amount_micros) "
    "FROM lines GROUP BY ALL"
)


def timed(work, repeat: int = 1) -> tuple[float, object]:
    """Best wall time of `repeat` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = args.data or HERE / "data" / str(args.lines)
    if not (data / "lines.parquet").exists():
        seconds, _ = timed(lambda: generate(args.lines, data))
        print(f"generated {args.lines:,} lines in {seconds:.1f} s → {data}")

    backend = ibis.duckdb.connect()
    load_s, dataset = timed(lambda: load_directory(data, backend=backend))
    programs = load_programs([HERE / "programs"])
    bare_s, _ = timed(lambda: backend.con.execute(BARE).fetchall(), args.repeat)
    engines: list[Engine] = []

    def recalculate():
        engines.append(Engine(dataset))
        return engines[-1].run(programs)

    full_s, result = timed(recalculate, args.repeat)
    by_decimal = sorted(engines[-1].by_decimal_rules)

    print(f"lines                  {args.lines:>12,}")
    print(f"programs               {len(programs):>12}")
    print(f"  in the plan          {len(programs) - len(by_decimal):>12}")
    print(f"  by the Decimal rules {len(by_decimal):>12}   {', '.join(by_decimal)}")
    print(f"standings              {len(result.standings):>12,}")
    print(f"load + validate (s)    {load_s:>12.2f}")
    print(f"bare GROUP BY (s)      {bare_s:>12.3f}   baseline")
    print(f"full recalculation (s) {full_s:>12.3f}   {full_s / bare_s:8.1f}×")
    print(f"a standing (µs)        {full_s / len(result.standings) * 1e6:>12.1f}")
    print(f"peak memory (MiB)      {peak_mib():>12.0f}")


if __name__ == "__main__":
    main()

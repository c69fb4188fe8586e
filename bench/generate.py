"""Synthetic channel data at any size: partners in trees, seasonal sales, returns, currencies.

    python bench/generate.py --lines 10000000 --out bench/data/10m

Vectorised with numpy and written in chunks, so 10M lines take about a minute and little
memory. The output is the data folder `accrue calc --data` reads.
"""

from __future__ import annotations

import argparse
import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PARENTS, PARTNERS, SKUS = 1_200, 5_000, 600
LINES = ("Valves", "Pumps", "Meters")
FIRST = date(2025, 1, 1)
DAYS = 730
CHUNK = 1_000_000
# Relative demand by month: spring and autumn peaks, a winter off-season.
SEASON = np.array([0.6, 0.7, 1.1, 1.3, 1.3, 1.1, 0.9, 0.9, 1.2, 1.2, 0.8, 0.6])


def write_master(out: Path, rng: np.random.Generator) -> np.ndarray:
    """Partners, products, reps and rates; returns each partner's region index."""
    regions = rng.choice(3, size=PARTNERS, p=[0.6, 0.3, 0.1])
    parents = rng.integers(0, PARENTS, size=PARTNERS)
    with (out / "partners.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "name", "parent_id", "segment", "region"])
        for i in range(PARTNERS):
            parent = "" if i < PARENTS else f"P{parents[i]:05d}"
            regions[i] = regions[parents[i]] if parent else regions[i]
            segment = ("Gold", "Silver", "Bronze")[i % 3] if not parent else ""
            region = ("NA", "EU", "APAC")[regions[i]] if not parent else ""
            rows.writerow([f"P{i:05d}", f"Partner {i}", parent, segment, region])
    with (out / "products.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["sku", "name", "category", "product_line"])
        for i in range(SKUS):
            rows.writerow([f"S{i:04d}", f"Product {i}", f"C{i % 12:02d}", LINES[i % 3]])
    with (out / "reps.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["rep_id", "name", "partner_id"])
        for i in range(PARENTS):
            rows.writerow([f"R{i % 40:02d}", f"Rep {i % 40}", f"P{i:05d}"])
    with (out / "fx.csv").open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["valid_from", "from_currency", "to_currency", "rate"])
        for week in range(0, DAYS + 7, 7):
            day = FIRST + timedelta(days=week)
            eur = 1.08 + 0.04 * np.sin(week / 90)
            rows.writerow([day, "EUR", "USD", f"{eur:.4f}"])
            rows.writerow([day, "CAD", "USD", f"{0.73 + 0.02 * np.cos(week / 70):.4f}"])
            rows.writerow([day, "USD", "EUR", f"{1 / eur:.6f}"])
    return regions


def cents_to_decimal(cents: np.ndarray) -> pa.Array:
    """Exact decimal(18, 2) from integer cents: the unscaled 128-bit values, built directly."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = cents, np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words)])


def chunk(rng: np.random.Generator, start: int, size: int, regions, weights, day_p, prices):
    partner = rng.choice(PARTNERS, size=size, p=weights)
    sku = rng.integers(0, SKUS, size=size)
    day = rng.choice(DAYS, size=size, p=day_p)
    is_return = rng.random(size) < 0.03
    sign = np.where(is_return, -1, 1)
    quantity = rng.integers(1, 25, size=size) * sign
    cents = (prices[sku] * np.abs(quantity) * rng.uniform(0.9, 1.05, size)).astype(np.int64) * sign
    currency = np.array(["USD", "EUR", "USD"])[regions[partner]]
    currency = np.where((regions[partner] == 0) & (partner % 11 == 0), "CAD", currency)
    ids = np.arange(start, start + size)
    return pa.table(
        {
            "source": pa.array(np.full(size, "erp")),
            "document": pa.array(np.char.add("INV", (ids // 4).astype(str))),
            "line_no": pa.array(ids % 4 + 1),
            "kind": pa.array(np.where(is_return, "return", "sale")),
            "partner_id": pa.array(np.char.add("P", np.char.zfill(partner.astype(str), 5))),
            "sku": pa.array(np.char.add("S", np.char.zfill(sku.astype(str), 4))),
            "date": pa.array(np.datetime64(FIRST) + day.astype("timedelta64[D]")),
            "quantity": pa.array(quantity),
            "amount": cents_to_decimal(cents),
            "currency": pa.array(currency),
        }
    )


def generate(lines: int, out: Path, seed: int = 7) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    regions = write_master(out, rng)
    sizes = rng.pareto(1.3, PARTNERS) + 0.05
    weights = sizes / sizes.sum()
    months = np.array([(FIRST + timedelta(days=d)).month - 1 for d in range(DAYS)])
    day_p = SEASON[months] / SEASON[months].sum()
    prices = rng.integers(500, 90_000, size=SKUS)  # cents
    writer = None
    for start in range(0, lines, CHUNK):
        table = chunk(rng, start, min(CHUNK, lines - start), regions, weights, day_p, prices)
        writer = writer or pq.ParquetWriter(out / "lines.parquet", table.schema)
        writer.write_table(table)
    if writer:
        writer.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.lines, args.out, args.seed)


if __name__ == "__main__":
    main()

"""Writes examples/data: a small, deterministic manufacturer's channel for demos and tests.

Northwind Valves sells three product lines (plus a new Smart line) through 24 distributors,
some with branches, over 2025-01-01 to 2026-11-20, with seasonality, returns and some lines
in EUR and CAD. Run: python examples/make_data.py
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from accrue.ingest.lines import LINE_COLUMNS

OUT = Path(__file__).parent / "data"
FIRST, LAST = date(2025, 1, 1), date(2026, 11, 20)
# Purchases peak in spring and autumn; winter is the off-season the programs reward.
SEASON = [0.6, 0.7, 1.1, 1.3, 1.3, 1.1, 0.9, 0.9, 1.2, 1.2, 0.8, 0.6]

PRODUCTS = [
    (f"{prefix}-{n:03d}", f"{name} {n}", category, line, price)
    for prefix, name, category, line, price, count in [
        ("GV", "Gate valve", "Gate valves", "Valves", 84, 4),
        ("BV", "Ball valve", "Ball valves", "Valves", 42, 4),
        ("CP", "Centrifugal pump", "Centrifugal pumps", "Pumps", 610, 4),
        ("SP", "Submersible pump", "Submersible pumps", "Pumps", 890, 3),
        ("FM", "Flow meter", "Flow meters", "Meters", 230, 4),
        ("PM", "Pressure meter", "Pressure meters", "Meters", 120, 3),
        ("SV", "Smart valve", "Smart valves", "Smart", 260, 3),
    ]
    for n in range(1, count + 1)
]


def partners(rng: random.Random, count: int = 16) -> list[tuple]:
    rows = []
    regions = ["NA", "NA", "EU", "APAC"]
    for i in range(1, count + 1):
        segment = "Gold" if i <= count // 4 else "Silver" if i <= count * 10 // 16 else "Bronze"
        rows.append((f"D{i:02d}", f"Distributor {i:02d}", "", segment, regions[i % 4], 0))
        for b in range(1, (3 if i <= 4 else 1 if i % 3 == 0 else 0) + 1):
            rows.append(
                (f"D{i:02d}-B{b}", f"Distributor {i:02d} branch {b}", f"D{i:02d}", "", "", 0)
            )
    return rows


def size(partner_id: str) -> float:
    """Gold parents buy most; branches buy for their parent."""
    number = int(partner_id.split("-")[0][1:])
    return 5.0 / number + 0.15


def currency_of(partner_id: str, region: str) -> str:
    return {"EU": "EUR", "APAC": "USD"}.get(region, "CAD" if partner_id.endswith("7") else "USD")


def lines(rng: random.Random, partner_rows, busy: float = 1.0) -> list[tuple]:
    regions = {p[0]: p[4] or next(q[4] for q in partner_rows if q[0] == p[2]) for p in partner_rows}
    rows, document = [], 1000
    day = FIRST
    while day <= LAST:
        for partner_id, *_ in partner_rows:
            if rng.random() > 0.045 * busy * size(partner_id) * SEASON[day.month - 1]:
                continue
            document += 1
            currency = currency_of(partner_id, regions[partner_id])
            for line_no in range(1, rng.randint(1, 4) + 1):
                sku, _, _, product_line, price = rng.choice(PRODUCTS)
                if product_line == "Smart" and day < date(2025, 9, 1):
                    continue  # the Smart line launched in September 2025
                quantity = rng.randint(1, 8)
                unit_price = Decimal(price) * Decimal(rng.randint(92, 104)) / 100
                amount = (unit_price * quantity).quantize(Decimal("0.01"))
                rows.append(
                    (
                        "erp",
                        f"INV-{document}",
                        line_no,
                        "sale",
                        partner_id,
                        sku,
                        day,
                        quantity,
                        amount,
                        currency,
                    )
                )
                if rng.random() < 0.03:
                    back = rng.randint(1, quantity)
                    returned = (unit_price * back).quantize(Decimal("0.01"))
                    rows.append(
                        (
                            "erp",
                            f"RMA-{document}",
                            line_no,
                            "return",
                            partner_id,
                            sku,
                            min(day + timedelta(days=rng.randint(5, 40)), LAST),
                            -back,
                            -returned,
                            currency,
                        )
                    )
        day += timedelta(days=1)
    return rows


def fx(rng: random.Random) -> list[tuple]:
    rows, day = [], FIRST.replace(day=1)
    eur, cad = Decimal("1.0850"), Decimal("0.7350")
    while day <= LAST:
        eur += Decimal(rng.randint(-150, 150)) / 10000
        cad += Decimal(rng.randint(-80, 80)) / 10000
        rows += [
            (day, "EUR", "USD", eur),
            (day, "CAD", "USD", cad),
            (day, "USD", "EUR", (1 / eur).quantize(Decimal("0.000001"))),
        ]
        day += timedelta(days=7)
    return rows


def write(out: Path, name: str, header: tuple, rows) -> None:
    with (out / name).open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)


def main(distributors: int = 16, out: Path = OUT, busy: float = 1.0) -> None:
    rng = random.Random(2026)
    out.mkdir(exist_ok=True)
    partner_rows = partners(rng, distributors)
    write(
        out,
        "partners.csv",
        ("id", "name", "parent_id", "segment", "region"),
        [p[:5] for p in partner_rows],
    )
    write(
        out, "products.csv", ("sku", "name", "category", "product_line"), [p[:4] for p in PRODUCTS]
    )
    write(out, "lines.csv", LINE_COLUMNS, lines(rng, partner_rows, busy))
    write(out, "fx.csv", ("valid_from", "from_currency", "to_currency", "rate"), fx(rng))
    tops = [p[0] for p in partner_rows if not p[2]]
    write(
        out,
        "reps.csv",
        ("rep_id", "name", "partner_id"),
        [("R1", "Rita Alvarez", p) for p in tops[0::4]]
        + [("R2", "Sam Okafor", p) for p in tops[1::4]],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distributors", type=int, default=16, help="top-level distributors")
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write")
    parser.add_argument("--busy", type=float, default=1.0, help="how often partners buy (×)")
    options = parser.parse_args()
    main(options.distributors, options.out, options.busy)

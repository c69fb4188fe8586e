"""The inputs of a run: master data as domain objects, lines as an Ibis table of integers.

Lines live in a column store with exact integer columns: quantity in thousandths and amount
in micros (millionths) of the line's currency, so every engine sums them exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from accrue.domain.catalog import Product
from accrue.domain.errors import Refused
from accrue.domain.fx import RATE_DECIMALS, FxRate, FxTable, MissingRate
from accrue.domain.lines import Line
from accrue.domain.partners import Partner, PartnerTree
from accrue.domain.reps import SalesRep

QUANTITY_SCALE = 3
AMOUNT_SCALE = 6

LINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("document", pa.string()),
        ("line_no", pa.int64()),
        ("kind", pa.string()),
        ("partner_id", pa.string()),
        ("sku", pa.string()),
        ("date", pa.date32()),
        ("quantity_milli", pa.int64()),
        ("amount_micros", pa.int64()),
        ("currency", pa.string()),
    ]
)

RATES_SCHEMA = pa.schema(
    [("currency", pa.string()), ("date", pa.date32()), ("rate_micros", pa.int64())]
)

# A line's hash for the input digest, over its typed line-store columns (DuckDB's `hash`): the
# loader computes it on the way in, the engine when the lines came another way.
LINE_HASH = f"hash({', '.join(LINE_SCHEMA.names)})::HUGEINT"


class DataError(Refused):
    """Input that cannot be computed on; the message names where and what."""


def scaled_int(value: Decimal, scale: int, what: str) -> int:
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise DataError(f"{what} {value} has more than {scale} decimals")
    return int(scaled)


def lines_to_arrow(lines: Iterable[Line]) -> pa.Table:
    rows = [
        {
            "source": line.source,
            "document": line.document,
            "line_no": line.line_no,
            "kind": line.kind.value,
            "partner_id": line.partner_id,
            "sku": line.sku,
            "date": line.date,
            "quantity_milli": scaled_int(line.quantity, QUANTITY_SCALE, "quantity"),
            "amount_micros": scaled_int(line.amount, AMOUNT_SCALE, "amount"),
            "currency": line.currency,
        }
        for line in lines
    ]
    return pa.Table.from_pylist(rows, schema=LINE_SCHEMA)


@dataclass
class DataSet:
    """Partners, products, rates, reps and lines for one run."""

    partners: Sequence[Partner]
    products: Sequence[Product]
    lines: ibis.Table
    fx_rates: Sequence[FxRate] = ()
    reps: Sequence[SalesRep] = ()
    lines_hash: tuple[int, int] | None = None  # (count, hash sum) when hashed on the way in
    scope: frozenset[str] | None = None  # the only partners the lines are of (None: any)
    tree: PartnerTree = field(init=False)
    fx: FxTable = field(init=False)
    _daily_rates: dict[str, tuple[pa.Table, int]] = field(
        init=False, default_factory=dict, repr=False
    )

    def __post_init__(self):
        self.tree = PartnerTree(self.partners)
        self.fx = FxTable(self.fx_rates)
        self.catalog = {product.sku: product for product in self.products}

    @cached_property
    def currencies(self) -> list[str]:
        column = self.lines.select("currency").distinct().to_pyarrow()["currency"]
        return sorted(column.to_pylist())

    @cached_property
    def date_bounds(self) -> tuple[date | None, date | None]:
        """First and last line dates (None, None without lines)."""
        # cast: Ibis types MIN of a NOT NULL column as NOT NULL, but over no rows it is NULL
        first, last = _.date.min().cast("date"), _.date.max().cast("date")
        bounds = self.lines.aggregate(first=first, last=last).to_pyarrow()
        return bounds["first"][0].as_py(), bounds["last"][0].as_py()

    @cached_property
    def amount_places(self) -> int:
        """The fewest decimal places that hold every line's amount: a converted amount is
        amount × rate, kept in no more places than its two factors need, so that sums and the
        rules' products stay within 38 digits. Amounts of 2**53 micros or more keep all six
        (Ibis divides integers through floating point, exact only below that)."""
        micros = self.lines.amount_micros
        whole = {
            f"p{p}": (micros % 10 ** (AMOUNT_SCALE - p) == 0).all() for p in range(AMOUNT_SCALE)
        }
        row = self.lines.aggregate(largest=micros.abs().max(), **whole).to_pyarrow().to_pylist()
        if (row[0]["largest"] or 0) >= 2**53:
            return AMOUNT_SCALE
        return next((p for p in range(AMOUNT_SCALE) if row[0][f"p{p}"] is not False), AMOUNT_SCALE)

    def daily_rates(self, target: str) -> tuple[pa.Table, int]:
        """Rates into `target` of every other currency of the lines, one row per currency and
        day (as of that day): a small table that turns rule 10's 'rate of the line's date'
        into an equi-join any engine runs. The rates (column `rate_{target}`) are integers ×
        10**places, in the fewest decimal places that hold them all."""
        if target not in self._daily_rates:
            micros = self._expanded_rates(target)
            places = _fewest_places(micros["rate_micros"].to_pylist())
            reduced = pc.divide(micros["rate_micros"], 10 ** (RATE_DECIMALS - places))
            self._daily_rates[target] = (micros.set_column(2, f"rate_{target}", reduced), places)
        return self._daily_rates[target]

    def _expanded_rates(self, target: str) -> pa.Table:
        first, last = self.date_bounds
        rows = {"currency": [], "date": [], "rate_micros": []}
        for source in (c for c in self.currencies if c != target):
            day = first
            while day <= last:
                try:
                    rate = self.fx.rate(source, target, day)
                except MissingRate:
                    rate = None
                if rate is not None:
                    rows["currency"].append(source)
                    rows["date"].append(day)
                    rows["rate_micros"].append(int(rate.scaleb(RATE_DECIMALS)))
                day += timedelta(days=1)
        return pa.table(rows, schema=RATES_SCHEMA)

    @classmethod
    def from_lines(cls, lines: Iterable[Line], backend=None, **master) -> DataSet:
        """Lines as domain objects (tests, small files) on a fresh in-memory DuckDB."""
        con = backend or ibis.duckdb.connect()
        table = con.create_table(ibis.util.gen_name("lines"), lines_to_arrow(lines), temp=True)
        return cls(lines=table, **master)


def _fewest_places(micros: list[int]) -> int:
    """The fewest decimal places that hold every micro-rate."""
    for places in range(RATE_DECIMALS):
        if all(rate % 10 ** (RATE_DECIMALS - places) == 0 for rate in micros):
            return places
    return RATE_DECIMALS

"""Programs compiled to one relational plan: fold the lines once into classes, sum each
program's conditional integers per partner and month, then roll up per program to its
measured partners and periods. Attribution reads a program's eligible lines the same way.

Nothing here multiplies money by a decimal rate: sums are of integer micros (times integer
micro-rates for foreign currencies), so DuckDB, PostgreSQL and Spark all agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cached_property

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accrue.domain.eligibility import counts_on, partner_rollup, product_roles, window_index
from accrue.domain.errors import NotFound
from accrue.domain.fx import MissingRate
from accrue.domain.money import exact
from accrue.domain.program import Program
from accrue.engine.compiled import STATEMENTS, Remembered
from accrue.engine.dataset import AMOUNT_SCALE, QUANTITY_SCALE, DataSet


@dataclass(frozen=True)
class Plan:
    """One program's part of the plan: the monthly sums of every program (column prefix
    `p{k}_`) and its partners' roll-up, the tables its query reads (`inputs`, so a compiled
    statement can be run again over new ones); and how to turn its integers back into
    Decimal."""

    k: int
    program: Program
    monthly: ibis.Table
    partners: pa.Table  # partner_id → rollup_id, the enrolled partners only
    amount_exponent: int  # amount columns are integers × 10**amount_exponent
    units_divisor: int  # unit columns are integers ÷ units_divisor
    windows: int
    buckets: int

    @property
    def inputs(self) -> dict:
        return {"monthly": self.monthly, "partners": self.partners}

    def over(self, tables: Mapping[str, ibis.Table]) -> ibis.Table:
        """The program's sums per measured partner and period, over `inputs` as tables."""
        return _rollup(self.k, self.program, tables["monthly"], tables["partners"])

    @cached_property
    def query(self) -> ibis.Table:
        return self.over({"monthly": self.monthly, "partners": ibis.memtable(self.partners)})


def unit_weights(roles) -> tuple[dict[str, int], int]:
    """Unit conversions as integers: each SKU's factor times the common denominator, so unit
    sums stay integer in SQL and are divided once, exactly, in Python."""
    denominator = math.lcm(*(role.unit_factor.denominator for role in roles.values()), 1)
    weights = {sku: int(role.unit_factor * denominator) for sku, role in roles.items()}
    return weights, denominator


def eligibility_tables(program: Program, data: DataSet) -> tuple[ibis.Table, ibis.Table]:
    roles = product_roles(program, data.products)
    weights, _ = unit_weights(roles)
    products = pa.table(
        {
            "sku": pa.array(list(roles), pa.string()),
            "unit_weight": pa.array([weights[sku] for sku in roles], pa.int64()),
            "earns": pa.array([r.earns for r in roles.values()], pa.bool_()),
        }
    )
    return ibis.memtable(_rollup_table(program, data)), ibis.memtable(products)


def eligible_lines(program: Program, data: DataSet) -> ibis.Table:
    """Lines that count for the program, with rollup_id, roles, multiplier `window` and
    `amount` in the program's currency as an integer of 10**amount_exponent units: what
    attribution shares out."""
    partners, products = eligibility_tables(program, data)
    days, day_flags = (ibis.memtable(t) for t in _day_classes([program], data))
    counted = day_flags.filter(day_flags.p0_in_dates).select("day_class", window="p0_window")
    lines = data.lines.filter(
        data.lines.kind.isin([k.value for k in program.eligibility.line_types])
    )
    joined = (
        lines.inner_join(days.inner_join(counted, "day_class").select("date", "window"), "date")
        .inner_join(partners, "partner_id")
        .inner_join(products, "sku")
    )
    into = conversion(program.currency, data)
    rates = _rates_into({program.currency: into})
    if rates is not None:
        joined = joined.left_join(ibis.memtable(rates), ["currency", "date"])
    converted = _converted(joined, program.currency, into)
    columns = {"amount": converted[f"amount_{program.currency}"], "units": _units(joined)}
    if f"missing_{program.currency}" in converted:
        columns["rate_missing"] = converted[f"missing_{program.currency}"] == 1
    return joined.mutate(**columns)


def _units(lines: ibis.Table):
    """Quantity in thousandths of the program's unit, times the conversion denominator."""
    return lines.quantity_milli * lines.unit_weight


def amount_exponent(program: Program, data: DataSet) -> int:
    return conversion(program.currency, data).exponent


def build_all(programs: Sequence[Program], data: DataSet) -> list[Plan]:
    """Every program's sums from ONE scan of the lines.

    The scan first folds lines into classes: leaf partner × month × product class (SKUs with
    the same roles in every program) × day class (days with the same date rules and multiplier
    windows in every program) × kind, summing plain integers. Each program's conditional sums
    then run over those few rows per partner and month; partner eligibility, roll-up and
    periods apply to the resulting monthly table, one cheap query per program.
    """
    into = {
        currency: conversion(currency, data) for currency in sorted({p.currency for p in programs})
    }
    versions = tuple((p.ref, p.digest) for p in programs)
    classes = _CLASSES.get(
        (versions, tuple(data.products), data.date_bounds), lambda: _classes_of(programs, data)
    )
    inputs = {"lines": data.lines, **classes.tables}
    rates = _rates_into(into)
    if rates is not None:
        inputs["rates"] = rates
    shape = (
        "monthly",
        versions,
        tuple((c, i.amount_places, i.rate_places, i.rates is None) for c, i in into.items()),
    )
    monthly = STATEMENTS.table(shape, inputs, lambda tables: _monthly(programs, into, tables))
    return [
        Plan(
            k,
            program,
            monthly,
            _rollup_table(program, data),
            into[program.currency].exponent,
            classes.divisors[k],
            len(program.multipliers),
            program.shape[1],
        )
        for k, program in enumerate(programs)
    ]


@dataclass(frozen=True)
class _Classes:
    """What `build_all` derives in Python from the programs, the products and the days the
    lines span: the class tables the scan joins, and each program's unit divisor."""

    tables: dict[str, pa.Table]
    divisors: list[int]


# The same from one run to the next while programs and products stay the same (a books'
# recalculation after each line), so remembered by their content.
_CLASSES = Remembered(8)


def _classes_of(programs: Sequence[Program], data: DataSet) -> _Classes:
    roles = [product_roles(program, data.products) for program in programs]
    products, product_flags = _product_classes(roles, data)
    days, day_flags = _day_classes(programs, data)
    tables = {"products": products, "product_flags": product_flags}
    tables |= {"days": days, "day_flags": day_flags}
    divisors = [unit_weights(r)[1] * 10**QUANTITY_SCALE for r in roles]
    return _Classes(tables, divisors)


def _monthly(programs: Sequence[Program], into: dict, tables: Mapping[str, ibis.Table]):
    """Every program's sums per leaf partner and month, over `build_all`'s inputs."""
    lines = tables["lines"]
    scan = lines.inner_join(tables["products"], "sku").inner_join(tables["days"], "date")
    if "rates" in tables:
        scan = scan.left_join(tables["rates"], ["currency", "date"])
    derived = {"year": scan.date.year(), "month": scan.date.month().cast("int64")}
    for currency, conversion_into in into.items():
        derived.update(_converted(scan, currency, conversion_into))
    scan = scan.mutate(**derived)
    keys = ["partner_id", "year", "month", "product_class", "day_class", "kind"]
    folded = scan.group_by(keys).aggregate(
        quantity=scan.quantity_milli.sum(),
        lines=scan.count(),
        **{c: scan[c].sum() for c in derived if c.startswith(("amount_", "missing_"))},
    )
    rows = folded.inner_join(tables["product_flags"], "product_class").inner_join(
        tables["day_flags"], "day_class"
    )
    sums: dict[str, ibis.Value] = {}
    for k, program in enumerate(programs):
        sums.update(_program_sums(k, program, rows))
    return rows.group_by(["partner_id", "year", "month"]).aggregate(**sums)


def _classes(keys: dict, names: list[str], key: str, key_type, class_name: str):
    """(key → class id, class id → flag columns) as two small Arrow tables."""
    ids: dict[tuple, int] = {}
    members = {key: [], class_name: []}
    for value, vector in keys.items():
        members[key].append(value)
        members[class_name].append(ids.setdefault(vector, len(ids)))
    vectors = sorted(ids, key=ids.get)
    columns = {class_name: pa.array(range(len(vectors)), pa.int64())}
    for i, name in enumerate(names):
        flag = name.endswith(("earns", "qualifies", "in_mix", "in_dates"))
        columns[name] = pa.array([v[i] for v in vectors], pa.bool_() if flag else pa.int64())
    keyed = pa.table(
        {
            key: pa.array(members[key], key_type),
            class_name: pa.array(members[class_name], pa.int64()),
        }
    )
    return keyed, pa.table(columns)


def _product_classes(roles: list[dict], data: DataSet):
    """SKUs grouped by their roles in every program; SKUs no program uses are left out."""
    weights = [unit_weights(r)[0] for r in roles]
    vectors = {
        product.sku: sum(
            (
                _role_vector(r.get(product.sku), w.get(product.sku, 0))
                for r, w in zip(roles, weights, strict=True)
            ),
            (),
        )
        for product in data.products
        if any(product.sku in r for r in roles)
    }
    names = [f"p{k}_{n}" for k in range(len(roles)) for n in ROLE_COLUMNS]
    return _classes(vectors, names, "sku", pa.string(), "product_class")


ROLE_COLUMNS = ("earns", "qualifies", "in_mix", "bucket", "weight")


def _role_vector(role, weight: int) -> tuple:
    if role is None:
        return (False, False, False, -1, 0)
    return (role.earns, role.qualifies, role.in_mix, role.bucket, weight)


def _day_classes(programs: Sequence[Program], data: DataSet):
    """Days grouped by every program's date rules (rule 5's baseline window included) and
    multiplier windows, decided once in Python by the domain's own functions."""
    first, last = data.date_bounds
    vectors, day = {}, first
    while day is not None and day <= last:
        vectors[day] = tuple(
            value
            for program in programs
            for value in (counts_on(program, day), window_index(program, day))
        )
        day += timedelta(days=1)
    names = [f"p{k}_{n}" for k in range(len(programs)) for n in ("in_dates", "window")]
    return _classes(vectors, names, "date", pa.date32(), "day_class")


@dataclass(frozen=True)
class Conversion:
    """Lines into one currency (rule 10) as exact integers: amount × rate, each factor in as
    few decimal places as the data needs (cents and four-decimal rates give micros again), so
    the rules' products of sums fit in 38 digits where they can."""

    rates: pa.Table | None  # (currency, date, rate × 10**rate_places); None: no foreign lines
    amount_places: int = AMOUNT_SCALE
    rate_places: int = 0

    @property
    def exponent(self) -> int:
        """Converted amounts are integers × 10**exponent: micros or finer."""
        return -max(AMOUNT_SCALE, self.amount_places + self.rate_places)


def conversion(target: str, data: DataSet) -> Conversion:
    if not [c for c in data.currencies if c != target]:
        return Conversion(None)
    rates, places = data.daily_rates(target)
    return Conversion(rates, data.amount_places, places)


def _rates_into(into: dict[str, Conversion]) -> pa.Table | None:
    """One table of (currency, date) → rate into each target currency that has foreign
    lines, so the scan needs one join whatever the programs' currencies."""
    merged: pa.Table | None = None
    for conversion_into in into.values():
        daily = conversion_into.rates
        if daily is None:
            continue
        merged = (
            daily
            if merged is None
            else merged.join(daily, ["currency", "date"], join_type="full outer")
        )
    return merged


def _converted(scan: ibis.Table, currency: str, into: Conversion) -> dict:
    """amount_{currency}: the line's amount converted, an integer × 10**exponent;
    missing_{currency}: the line has no rate on its date."""
    if into.rates is None:
        return {f"amount_{currency}": scan.amount_micros}
    rate_column = scan[f"rate_{currency}"]
    same = scan.currency == currency
    rate = same.ifelse(ibis.literal(10**into.rate_places, "int64"), rate_column)
    amount = scan.amount_micros
    if into.amount_places < AMOUNT_SCALE:  # exact: every amount is a multiple of the divisor
        amount = amount // 10 ** (AMOUNT_SCALE - into.amount_places)
    finer = -into.exponent - into.amount_places - into.rate_places
    return {
        f"amount_{currency}": amount.cast("decimal(38, 0)") * rate * 10**finer,
        f"missing_{currency}": (~same & rate_column.isnull()).ifelse(1, 0),
    }


def _program_sums(k: int, program: Program, rows: ibis.Table) -> dict:
    """Program k's sums over the folded rows, each condition read from the class flags."""
    kinds = [t.value for t in program.eligibility.line_types]
    counts = rows.kind.isin(kinds) & rows[f"p{k}_in_dates"]
    earns, qualifies = counts & rows[f"p{k}_earns"], counts & rows[f"p{k}_qualifies"]
    amount, units = rows[f"amount_{program.currency}"], rows.quantity * rows[f"p{k}_weight"]
    counted = earns | qualifies
    sums = {f"p{k}_lines": counted.ifelse(rows.lines, 0).sum()}
    if f"missing_{program.currency}" in rows.columns:
        missing = rows[f"missing_{program.currency}"]
        sums[f"p{k}_missing_rates"] = counted.ifelse(missing, 0).sum()

    def add(name: str, condition):
        sums[f"p{k}_{name}_units"] = condition.ifelse(units, 0).sum()
        sums[f"p{k}_{name}_amount"] = condition.ifelse(amount, 0).sum()

    add("qualifying", qualifies)
    if program.qualifying is not None:  # otherwise the same lines qualify and earn
        add("earning", earns)
    if program.mix is not None:
        add("mix", qualifies & rows[f"p{k}_in_mix"])
    for i in range(len(program.multipliers)):
        add(f"window{i}", earns & (rows[f"p{k}_window"] == i))
    for i in range(program.shape[1]):
        add(f"bucket{i}", qualifies & (rows[f"p{k}_bucket"] == i))
    return sums


def _rollup_table(program: Program, data: DataSet) -> pa.Table:
    rollup = partner_rollup(program, data.tree, data.scope)
    return pa.table(
        {"partner_id": list(rollup), "rollup_id": list(rollup.values())},
        schema=pa.schema([("partner_id", pa.string()), ("rollup_id", pa.string())]),
    )


def _rollup(k: int, program: Program, monthly: ibis.Table, partners: ibis.Table) -> ibis.Table:
    """One program's monthly sums → enrolled partners at the roll-up level × periods."""
    prefix = f"p{k}_"
    mine = monthly.select(
        "partner_id",
        "year",
        "month",
        *(monthly[c].name(c.removeprefix(prefix)) for c in monthly.columns if c.startswith(prefix)),
    )
    mine = mine.mutate(**_implied_sums(mine))
    joined = mine.filter(mine.lines > 0).inner_join(partners, "partner_id")
    index = ((joined.month - 1) // program.period.months + 1).cast("int64")
    keyed = joined.mutate(index=index)
    measures = [c for c in mine.columns if c not in ("partner_id", "year", "month")]
    return keyed.group_by(["rollup_id", "year", "index"]).aggregate(
        **{c: keyed[c].sum() for c in measures}
    )


def _implied_sums(monthly: ibis.Table) -> dict:
    """Sums the scan skipped because they were implied: earning = qualifying when a program
    has no separate qualifying products, and no mix without a mix slice."""
    implied = {}
    for quantity in ("units", "amount"):
        if f"earning_{quantity}" not in monthly.columns:
            implied[f"earning_{quantity}"] = monthly[f"qualifying_{quantity}"]
        if f"mix_{quantity}" not in monthly.columns:
            implied[f"mix_{quantity}"] = monthly[f"qualifying_{quantity}"] * 0
    return implied


def check_rates(program: Program, data: DataSet, result: pa.Table) -> None:
    """Rule 10: a line without a rate on its date is an error naming currency and date. The
    plan only counts such lines; the first one is looked up when there is one."""
    if "missing_rates" not in result.column_names or not pc.sum(result["missing_rates"]).as_py():
        return
    lines = eligible_lines(program, data)
    missing = (
        lines.filter(lines.rate_missing)
        .select("currency", "date", "document", "line_no")
        .order_by(["date", "currency"])
        .limit(1)
        .to_pyarrow()
        .to_pylist()
    )
    if missing:
        row = missing[0]
        error = MissingRate(row["currency"], program.currency, row["date"])
        raise MissingRateError(
            f"{error} (program {program.id}, document {row['document']} line {row['line_no']})"
        )


class MissingRateError(NotFound):
    pass


def decimal_array(column: pa.ChunkedArray | pa.Array, exponent: int) -> pa.Array:
    """Integers as exact decimals × 10**exponent, rescaled by Arrow in C rather than row by
    row: the unscaled 128-bit integers are reinterpreted as decimals of scale -exponent."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    array = column.fill_null(0)
    if pa.types.is_decimal(array.type):
        data = array.cast(pa.decimal128(38, 0)).buffers()[1]
    else:
        ints = array.to_numpy(zero_copy_only=False).astype(np.int64)
        words = np.empty((len(ints), 2), dtype=np.int64)
        words[:, 0], words[:, 1] = ints, np.where(ints < 0, -1, 0)
        data = pa.py_buffer(words)
    return pa.Array.from_buffers(pa.decimal128(38, -exponent), len(array), [None, data])


def decimals(column: pa.ChunkedArray, exponent: int) -> list[Decimal]:
    return _per_distinct(decimal_array(column, exponent), pa.Array.to_pylist)


def _per_distinct(array: pa.Array, convert) -> list:
    """Each distinct value converted once: a column of standings repeats most of its values
    (zeros above all), and a Decimal costs twenty times a list lookup."""
    encoded = array.dictionary_encode()
    values = convert(encoded.dictionary)
    return [values[i] for i in encoded.indices.to_pylist()]


def _power_of_ten(divisor: int) -> int | None:
    digits = len(str(divisor)) - 1
    return digits if divisor == 10**digits else None


def decimals_divided(column: pa.ChunkedArray, divisor: int) -> list[Decimal]:
    """Integer sums over their divisor: rescaled in Arrow for a power of ten, else divided
    exactly when representable, to 60 digits otherwise."""
    digits = _power_of_ten(divisor)
    if digits is not None:
        return decimals(column, -digits)

    def divided(values: pa.Array) -> list[Decimal]:
        return [Decimal(int(value)) / divisor for value in values.to_pylist()]

    with exact():
        return _per_distinct(column.combine_chunks().fill_null(0), divided)

"""Runs programs over a data set: one relational plan for them all, then the rules in Decimal."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

import ibis
import pyarrow as pa

from accrue.domain.aggregate import Aggregate, Sums
from accrue.domain.errors import Refused
from accrue.domain.periods import Period, periods_between
from accrue.domain.program import Kind, Program
from accrue.domain.standings import Standing, finish, share_budget, standings_for
from accrue.engine import plan, rules
from accrue.engine.attribution import Part, attributions
from accrue.engine.backends import overflowed
from accrue.engine.compiled import STATEMENTS
from accrue.engine.dataset import LINE_HASH, DataSet

Progress = Callable[[Program], None]


@dataclass(frozen=True)
class Attribution:
    """The share of a standing's amount that one line earned."""

    program_id: str
    partner_id: str
    period: str
    source: str
    document: str
    line_no: int
    date: date
    sku: str
    line_amount: Decimal
    share: Decimal


@dataclass(frozen=True)
class RepPoints:
    rep_id: str
    program_id: str
    period: Period
    points: int
    partners: tuple[tuple[str, int], ...]


@dataclass
class Result:
    standings: list[Standing]
    programs: dict[str, Program]
    periods: dict[str, list[Period]]  # program id → the periods it was computed for
    engine: Engine = field(repr=False)
    versions: dict[tuple[str, int], Program] = field(repr=False)

    def for_program(self, program_id: str) -> list[Standing]:
        return [s for s in self.standings if s.program_id == program_id]

    @cached_property
    def _by_key(self) -> dict[tuple[str, str, str], Standing]:
        return {standing.key: standing for standing in self.standings}

    def get(self, program_id: str, partner_id: str, period: str) -> Standing:
        return self._by_key[(program_id, partner_id, period)]

    @cached_property
    def input_digest(self) -> str:
        return self.engine.input_digest()

    @property
    def program_refs(self) -> dict[str, str]:
        """Program id → `id@vN#digest`, so a run can be reproduced exactly."""
        return {pid: f"{p.ref}#{p.digest[:12]}" for pid, p in self.programs.items()}

    def attributions(self, standings: Iterable[Standing] | None = None) -> list[Part]:
        """Every line's share of the standings (all by default) as relational tables, to be
        streamed out of the backend: rows never pass through Python one by one."""
        return attributions(self, self.standings if standings is None else standings)

    def attribute(self, standing: Standing) -> list[Attribution]:
        """One standing's shares, in (date, document, line, source) order."""
        return self._shares.get(standing.key, [])

    @cached_property
    def _shares(self) -> dict[tuple[str, str, str], list[Attribution]]:
        """Every standing's shares from one query a program, for callers that read them one
        by one (traces of a partner tree, tests); bulk output goes through `attributions`."""
        order = ["partner_id", "period", "date", "document", "line_no", "source"]
        shares: dict[tuple[str, str, str], list[Attribution]] = defaultdict(list)
        for part in self.attributions():
            table = part.table.order_by(order).to_pyarrow()
            amounts = plan.decimals(table["line_amount"], part.amount_exponent)
            cents = plan.decimals(table["share"], part.share_exponent)
            rows = table.drop(["line_amount", "share"]).to_pylist()
            for row, amount, share in zip(rows, amounts, cents, strict=True):
                key = (row["program_id"], row["partner_id"], row["period"])
                shares[key].append(Attribution(**row, line_amount=amount, share=share))
        return shares

    def rep_points(self) -> list[RepPoints]:
        """Rule E16: a rep earns the points of the partners assigned to them."""
        totals: dict[tuple[str, str, Period], list[tuple[str, int]]] = defaultdict(list)
        for rep in self.engine.data.reps:
            for s in self.standings:
                if s.kind is Kind.POINTS and s.partner_id in rep.partner_ids:
                    totals[(rep.id, s.program_id, s.period)].append((s.partner_id, s.points))
        return [
            RepPoints(rep, prog, period, sum(p for _, p in parts), tuple(sorted(parts)))
            for (rep, prog, period), parts in sorted(totals.items())
        ]


class Engine:
    def __init__(self, data: DataSet, rules_in_plan: bool = True):
        """`rules_in_plan=False` evaluates every standing with the Decimal rules: the oracle
        the plan's rules are tested against."""
        self.data = data
        self.rules_in_plan = rules_in_plan
        self.by_decimal_rules: set[str] = set()  # program versions the plan did not compute

    def cells(self, program: Program) -> dict[tuple[str, Period], Aggregate]:
        """One program's aggregates per measured partner and period."""
        return self.all_cells([program])[0]

    def all_cells(self, programs: Sequence[Program]) -> list[dict[tuple[str, Period], Aggregate]]:
        """Every program's aggregates, from one scan of the lines."""
        return [
            _decode(program, built, self.data)
            for program, built in zip(programs, plan.build_all(programs, self.data), strict=True)
        ]

    def periods(self, program: Program, as_of: date | None) -> list[Period]:
        """Periods from the program's start to its end, the as-of date or the last line."""
        last = as_of or self.data.date_bounds[1]
        if last is None:
            return []
        if program.effective.to:
            last = min(last, program.effective.to)
        return periods_between(program.period, program.effective.from_, last)

    def run(
        self,
        programs: Sequence[Program],
        as_of: date | None = None,
        progress: Progress | None = None,
    ) -> Result:
        """Every standing. A program given in several versions is computed with the version
        that governs each period (rule 12): from its `takes_effect` to the next version's."""
        versions = _versions(programs)
        ordered = [version for pid in sorted(versions) for version in versions[pid]]
        periods: dict[str, list[Period]] = defaultdict(list)
        drafts: list[Standing] = []
        for program, built in zip(ordered, plan.build_all(ordered, self.data), strict=True):
            computed = self.periods(program, as_of)
            governed = _governed(program, versions[program.id], computed)
            periods[program.id].extend(governed)
            drafts.extend(self._standings(program, built, computed, governed, as_of))
            if progress:
                progress(program)
        latest = {pid: chain[-1] for pid, chain in versions.items()}
        return Result(finish(drafts, latest), latest, dict(periods), self, _by_version(ordered))

    def _standings(self, program, built, computed, governed, as_of) -> list[Standing]:
        """A program's standings for the periods it governs: computed by the plan where its
        rules allow (engine.rules), otherwise by the Decimal rules over decoded cells."""
        constants = rules.constants(program, built.amount_exponent, built.units_divisor)
        if constants is not None and self.rules_in_plan:
            inputs = {**built.inputs, **rules.period_tables(constants, computed, as_of)}
            shape = ("standings", program.ref, program.digest, built.k, tuple(computed), as_of)
            try:
                table = STATEMENTS.fetch(
                    shape,
                    inputs,
                    lambda t: rules.standings_table(program, constants, built.over(t), t),
                )
            except Exception as error:
                if not overflowed(error):
                    raise
            else:
                plan.check_rates(program, self.data, table)
                standings = share_budget(program, rules.decoded(program, constants, table))
                keep = set(governed)  # a cumulative scope reaches back before its version
                return [s for s in standings if s.period in keep]
        self.by_decimal_rules.add(program.ref)
        cells = _decode(program, built, self.data)
        return [s for s in standings_for(program, cells, computed, as_of) if s.period in governed]

    def input_digest(self) -> str:
        """Order-independent digest of the lines and master data: the sum of each line's hash
        (mod 2**64), so the same lines in any order or split give the same digest. Each engine
        hashes with its own function, so the digest is stable on an engine, not across them."""
        count, line_sum = self._lines_hash()
        master = hashlib.sha256(repr(self._master_key()).encode()).hexdigest()[:16]
        return f"{count}:{line_sum % 2**64:016x}:{master}"

    def _lines_hash(self) -> tuple[int, int]:
        """DuckDB hashes a line's typed values directly (a tenth of the time of hashing its
        text); other engines hash the line as text."""
        if self.data.lines_hash is not None:
            return self.data.lines_hash
        lines = self.data.lines
        backend = lines._find_backend()
        if backend.name == "duckdb":
            query = f"SELECT count(*), sum({LINE_HASH}) FROM ({ibis.to_sql(lines)})"
            count, total = backend.con.execute(query).fetchone()
            return count, int(total or 0)
        fields = [lines[c].cast("string") for c in lines.columns]
        text = lines.select(t=ibis.literal("|").join(fields))
        summary = text.aggregate(n=text.count(), h=text.t.hash().cast("decimal(38, 0)").sum())
        row = summary.to_pyarrow().to_pylist()[0]
        return row["n"], int(row["h"] or 0)

    def _master_key(self):
        """Master data as sorted text; sets are sorted too, so the digest is reproducible."""
        data = self.data
        return (
            sorted(repr(p) for p in data.partners),
            sorted(repr(p) for p in data.products),
            sorted(repr(r) for r in data.fx_rates),
            sorted(repr((r.id, r.name, sorted(r.partner_ids))) for r in data.reps),
        )


def _decode(
    program: Program, built: plan.Plan, data: DataSet
) -> dict[tuple[str, Period], Aggregate]:
    """A plan's result table → aggregates, decoding integer sums to Decimal in Arrow."""
    table = built.query.to_pyarrow()
    plan.check_rates(program, data, table)
    column = _column_reader(table, built)
    windows = [_sums_column(column, f"window{i}") for i in range(built.windows)]
    buckets = [_sums_column(column, f"bucket{i}") for i in range(built.buckets)]
    qualifying, earning, mix = (_sums_column(column, n) for n in ("qualifying", "earning", "mix"))
    keys = zip(*(table[c].to_pylist() for c in ("rollup_id", "year", "index")), strict=True)
    return {
        (rollup, Period(year, program.period, index)): Aggregate(
            qualifying=qualifying[i],
            earning=earning[i],
            windows=tuple(w[i] for w in windows),
            mix=mix[i],
            buckets=tuple(b[i] for b in buckets),
            lines=lines,
        )
        for i, ((rollup, year, index), lines) in enumerate(
            zip(keys, table["lines"].to_pylist(), strict=True)
        )
    }


def _column_reader(table: pa.Table, built: plan.Plan):
    """Column name → its values as Decimal, scaled back from the plan's integers."""

    def read(name: str) -> list[Decimal]:
        if name.endswith("_amount"):
            return plan.decimals(table[name], built.amount_exponent)
        return plan.decimals_divided(table[name], built.units_divisor)

    return read


def _sums_column(read, name: str) -> list[Sums]:
    return [Sums(u, a) for u, a in zip(read(f"{name}_units"), read(f"{name}_amount"), strict=True)]


def _versions(programs: Iterable[Program]) -> dict[str, list[Program]]:
    """Program id → its versions in order; each after the first says when it takes effect."""
    chains: dict[str, list[Program]] = defaultdict(list)
    for program in sorted(programs, key=lambda p: (p.id, p.version)):
        chain = chains[program.id]
        if chain and chain[-1].version == program.version:
            raise Refused(f"program {program.ref} is given twice; give each version once")
        if chain and program.takes_effect is None:
            raise Refused(f"program {program.ref} needs `takes_effect`: it follows a version")
        if chain and chain[-1].takes_effect and program.takes_effect <= chain[-1].takes_effect:
            raise Refused(f"program {program.ref} must take effect after {chain[-1].ref}")
        chain.append(program)
    return dict(chains)


def _governed(program: Program, chain: list[Program], periods: list[Period]) -> list[Period]:
    """The periods `program` governs: from its `takes_effect` to the next version's."""
    following = chain[chain.index(program) + 1 :]
    start = program.takes_effect if program is not chain[0] else None
    end = following[0].takes_effect if following else None
    return [
        p for p in periods if (start is None or p.start >= start) and (end is None or p.start < end)
    ]


def _by_version(programs: Iterable[Program]) -> dict[tuple[str, int], Program]:
    return {(p.id, p.version): p for p in programs}

"""The program language: a rebate program is a YAML document validated into these models.

Every field says, in its description, what it means; validation errors quote that description
as the hint, so the reference in docs/program-language.md and the messages never disagree.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from accrue.domain.errors import Refused
from accrue.domain.identifiers import MAX_LENGTH
from accrue.domain.lines import LineKind
from accrue.domain.numbers import read_decimal
from accrue.domain.periods import Period, PeriodKind


def _decimal(value: Any) -> Any:
    """Numbers arrive as Decimal from our YAML loader (or as the text it could not read);
    floats from Python code go via str. Every one is bounded like any input's (read_decimal)."""
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        text: Any = value.strip().replace(",", "").replace("_", "")
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = value
    else:
        return value
    try:
        return read_decimal(text)
    except ValueError as error:
        raise ValueError(f"{str(value)!r:.40} {error}") from None


def _percent(value: Any) -> Any:
    """`4%` is 0.04; a bare number is already a fraction (0.04)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = _decimal(value.strip()[:-1])
        return number / 100 if isinstance(number, Decimal) else number
    return _decimal(value)


Amount = Annotated[Decimal, BeforeValidator(_decimal)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Kind(StrEnum):
    REBATE = "rebate"
    FUND = "fund"
    POINTS = "points"


class Measure(StrEnum):
    UNITS = "units"
    AMOUNT = "amount"
    MIX_SHARE = "mix_share"
    BREADTH = "breadth"


class Base(StrEnum):
    AMOUNT = "amount"
    GROWTH = "growth"


class Method(StrEnum):
    RETROACTIVE = "retroactive"
    INCREMENTAL = "incremental"


class Evaluation(StrEnum):
    PERIOD = "period"
    YEAR_TO_DATE = "year_to_date"
    PROGRAM_TO_DATE = "program_to_date"


class Thresholds(StrEnum):
    ABSOLUTE = "absolute"
    BASELINE = "baseline"


class ProductFilter(Model):
    """Products by SKU, category or product line; an empty filter matches every product."""

    skus: list[str] = Field(default_factory=list, description="SKUs that match")
    categories: list[str] = Field(default_factory=list, description="categories that match")
    product_lines: list[str] = Field(default_factory=list, description="product lines that match")

    @property
    def is_empty(self) -> bool:
        return not (self.skus or self.categories or self.product_lines)


class Exclusions(Model):
    partners: list[str] = Field(
        default_factory=list, description="partner ids left out, with their branches"
    )
    skus: list[str] = Field(default_factory=list, description="SKUs left out")
    categories: list[str] = Field(default_factory=list, description="categories left out")
    product_lines: list[str] = Field(default_factory=list, description="product lines left out")


class Eligibility(ProductFilter):
    """Who takes part and which lines earn. Lists are 'any of'; empty lists mean everyone."""

    partners: list[str] = Field(
        default_factory=list, description="partner ids enrolled; naming a parent enrols branches"
    )
    segments: list[str] = Field(default_factory=list, description="partner segments enrolled")
    regions: list[str] = Field(default_factory=list, description="partner regions enrolled")
    exclude: Exclusions = Field(default_factory=Exclusions, description="what never counts")
    line_types: list[LineKind] = Field(
        default_factory=lambda: [LineKind.SALE, LineKind.RETURN],
        min_length=1,
        description="which kinds of line count: sale, return, pos, activity",
    )


class Tier(Model):
    """A tier is reached when the measure is at least `from` (thresholds are inclusive)."""

    name: str | None = Field(None, description="label shown to partners, e.g. Gold")
    from_: Percent = Field(
        alias="from",
        description=(
            "threshold: units or money for absolute thresholds, a percentage of the baseline "
            "(115%) for baseline thresholds, a share (20%) for mix_share, a count for breadth"
        ),
    )
    rate: Percent | None = Field(None, description="share of the base paid, e.g. 4%")
    per_unit: Amount | None = Field(None, description="money paid per eligible unit")
    fixed: Amount | None = Field(None, description="lump sum paid on reaching the tier")
    points: int | None = Field(None, ge=0, description="points awarded on reaching the tier")

    @model_validator(mode="after")
    def _pays_something(self) -> Tier:
        if all(v is None for v in (self.rate, self.per_unit, self.fixed, self.points)):
            raise ValueError("a tier must pay something: give rate, per_unit, fixed or points")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError(f"rate {self.rate} is outside 0%–100%: write 4% or 0.04")
        if self.from_ < 0:
            raise ValueError("a tier's `from` cannot be negative")
        return self


class Mix(ProductFilter):
    """The product slice whose share of qualifying purchases is the mix measure."""


class Breadth(Model):
    dimension: Literal["product_line", "category"] = Field(
        "product_line", description="what a 'breadth' bucket is"
    )
    values: list[str] = Field(min_length=1, description="the buckets that count")
    min_each: Amount = Field(ge=0, description="money a bucket must reach to count")


class Multiplier(Model):
    """Lines dated inside a yearly window (MM-DD to MM-DD, inclusive, may wrap the year) earn
    `factor` times; the first matching window wins."""

    name: str = Field(description="label, e.g. Off-season")
    from_: str = Field(alias="from", description="first day, MM-DD")
    to: str = Field(description="last day, MM-DD; 02-29 means the end of February")
    factor: Amount = Field(gt=0, description="multiplier on what the line earns, e.g. 1.5")

    @field_validator("from_", "to")
    @classmethod
    def _month_day(cls, value: str) -> str:
        if not _MONTH_DAY.match(str(value)):
            raise ValueError(f"{value!r} is not a month-day: write MM-DD, e.g. 11-01")
        return str(value)

    def bounds(self) -> tuple[int, int]:
        """The window as month*100+day numbers, comparable with a line's date."""
        return _month_day_number(self.from_), _month_day_number(self.to)

    def contains(self, day: date) -> bool:
        start, end = self.bounds()
        value = day.month * 100 + day.day
        return start <= value <= end if start <= end else value >= start or value <= end


def _month_day_number(text: str) -> int:
    month, day = text.split("-")
    return int(month) * 100 + int(day)


class Caps(Model):
    per_partner_period: Amount | None = Field(
        None, ge=0, description="most a partner can earn in one period"
    )
    budget_per_period: Amount | None = Field(
        None, ge=0, description="most the program pays all partners together in one period"
    )


class Guarantee(Model):
    """Rule 18: a guaranteed minimum a period, or, cumulative, on the running total."""

    per_period: Amount = Field(gt=0, description="least a partner is paid a period")
    cumulative: bool = Field(
        False, description="compare the running total with per_period × periods so far"
    )


def _fraction(value: Any) -> Any:
    """`1/12` or `0.5` → Fraction: a unit conversion must stay exact."""
    parts = str(value).split("/")
    try:
        if len(parts) > 2:
            raise ValueError
        numerator, denominator = (Fraction(_decimal(part)) for part in (*parts, "1")[:2])
        result = numerator / denominator
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a number or a fraction like 1/12") from None
    if result <= 0:
        raise ValueError(f"conversion {value!r} must be positive")
    return result


Conversion = Annotated[Fraction, BeforeValidator(_fraction)]


class Unit(Model):
    """Rule 16: measure in one unit (cases, kg); products sold in another convert by the table;
    a product in a unit with no conversion is an error, never a zero."""

    name: str = Field(description="the program's unit of measure, e.g. CS")
    conversions: dict[str, Conversion] = Field(
        default_factory=dict,
        description="program units in one of each other unit, e.g. {EA: 1/12, PAL: 40}",
    )

    def factor(self, uom: str) -> Fraction | None:
        return Fraction(1) if uom == self.name else self.conversions.get(uom)


class Points(Model):
    per_amount: Amount = Field(gt=0, description="points are earned per whole this much money")
    points: int = Field(1, gt=0, description="points per whole `per_amount`")


class Effective(Model):
    from_: date = Field(alias="from", description="first day lines count")
    to: date | None = Field(None, description="last day lines count; open-ended if missing")

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.to and self.to < self.from_:
            raise ValueError(f"effective.to ({self.to}) is before effective.from ({self.from_})")
        return self

    def contains(self, day: date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class Accounts(Model):
    """General-ledger accounts a program posts to; defaults suit a rebate, or a fund."""

    expense: str | None = Field(None, description="expense account, e.g. '5200 Rebate expense'")
    accrued: str | None = Field(
        None, description="liability for earned, unpaid amounts, e.g. '2300 Accrued rebates'"
    )
    receivable: str = Field(
        "1200 Accounts receivable", description="credited by credit memos, debited by clawbacks"
    )
    cash: str = Field("1000 Cash", description="credited by bank transfers and checks")

    def for_kind(self, kind: Kind) -> Accounts:
        fund = kind is Kind.FUND
        return self.model_copy(
            update={
                "expense": self.expense
                or ("5250 Market development funds" if fund else "5200 Rebate expense"),
                "accrued": self.accrued
                or ("2350 Market development fund liability" if fund else "2300 Accrued rebates"),
            }
        )


class Program(Model):
    """One version of a rebate program."""

    id: str = Field(
        max_length=MAX_LENGTH,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description=f"stable id: a-z, 0-9, - or _, at most {MAX_LENGTH} characters",
    )
    name: str = Field(min_length=1, description="name partners see")
    version: int = Field(1, ge=1, description="version number; a change is a new version")
    takes_effect: date | None = Field(
        None,
        description="for a version after the first: the first day of the first period it governs",
    )
    description: str = Field("", description="one or two sentences on the program's intent")
    kind: Kind = Field(Kind.REBATE, description="rebate (money), fund (MDF accrual) or points")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    effective: Effective = Field(description="the dates lines count: {from: ..., to: ...}")
    period: PeriodKind = Field(PeriodKind.QUARTER, description="month, quarter, half or year")
    evaluation: Evaluation = Field(
        Evaluation.PERIOD,
        description="period, year_to_date or program_to_date (cumulative, trued up)",
    )
    rollup: Literal["top", "self"] | int = Field(
        "top",
        description="measure at the top parent (top), each partner (self) or tree level N",
    )
    eligibility: Eligibility = Field(default_factory=Eligibility, description="who and what")
    qualifying: ProductFilter | None = Field(
        None, description="products that count toward the tier, if not the earning ones"
    )
    measure: Measure = Field(
        Measure.AMOUNT, description="units, amount, mix_share or breadth decides the tier"
    )
    mix: Mix | None = Field(None, description="the slice measured by mix_share")
    breadth: Breadth | None = Field(None, description="the buckets counted by breadth")
    thresholds: Thresholds = Field(
        Thresholds.ABSOLUTE, description="absolute, or baseline (tier `from` is % of baseline)"
    )
    method: Method = Field(Method.RETROACTIVE, description="retroactive or incremental tiers")
    base: Base = Field(
        Base.AMOUNT, description="what `rate` applies to: amount, or growth (amount above baseline)"
    )
    tiers: list[Tier] = Field(min_length=1, description="ascending by `from`")
    pro_rata_floor: Percent | None = Field(
        None, description="below tier 1 but at least this share of it, pay pro rata (90%)"
    )
    multipliers: list[Multiplier] = Field(default_factory=list, description="date windows")
    caps: Caps = Field(default_factory=Caps, description="per partner and budget caps")
    minimum_payout: Amount = Field(
        Decimal(0), ge=0, description="smaller amounts are carried forward, never lost"
    )
    exclusive_group: str | None = Field(
        None, description="programs in one group pay only the best for a partner and period"
    )
    points: Points | None = Field(None, description="points per money for kind: points")
    guarantee: Guarantee | None = Field(None, description="guaranteed minimum payout")
    unit: Unit | None = Field(
        None, description="unit of measure for units; products' own units if missing"
    )
    accounts: Accounts = Field(default_factory=Accounts, description="ledger accounts posted to")
    expires_after: int | None = Field(
        None,
        ge=1,
        description="kind fund: unused funds expire this many periods after the one they "
        "accrue in (2: Q1's funds can be used until the end of Q3)",
    )

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: list[Tier]) -> list[Tier]:
        for lower, upper in itertools.pairwise(tiers):
            if upper.from_ <= lower.from_:
                raise ValueError(f"tiers must ascend: `from` {upper.from_} follows {lower.from_}")
        return tiers

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        for problem in _inconsistencies(self):
            raise ValueError(problem)
        return self

    @property
    def rollup_level(self) -> int | None:
        """Tree level measured at: 0 = top parent, None = each partner itself."""
        return {"top": 0, "self": None}.get(self.rollup, self.rollup)  # type: ignore[arg-type]

    @property
    def shape(self) -> tuple[int, int]:
        """(multiplier windows, breadth buckets): the shape of this program's aggregates."""
        return len(self.multipliers), len(self.breadth.values) if self.breadth else 0

    @property
    def ledger_accounts(self) -> Accounts:
        return self.accounts.for_kind(self.kind)

    @property
    def needs_baseline(self) -> bool:
        return self.thresholds is Thresholds.BASELINE or self.base is Base.GROWTH

    @property
    def pays_per_unit_only(self) -> bool:
        """Every tier pays an amount per unit and no rate: lines earn by units, not money."""
        return all(t.rate is None and t.per_unit is not None for t in self.tiers)

    @property
    def measured_products(self) -> ProductFilter:
        """Rule 14: the tier may be measured on other products than those that earn."""
        return self.qualifying or self.eligibility

    @property
    def digest(self) -> str:
        """The program's fingerprint; fields added to the language later are left out while
        unset, so a stored version keeps the digest it was imported with."""
        unset = {name for name in ADDED_LATER if getattr(self, name) is None}
        document = self.model_dump(mode="json", by_alias=True, exclude=unset)
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"


ADDED_LATER = ("expires_after",)


def _inconsistencies(p: Program):
    """Combinations that parse but mean nothing; each message says how to fix it."""
    if p.measure is Measure.MIX_SHARE and p.mix is None:
        yield "measure mix_share needs a `mix:` section naming the products measured"
    if p.measure is Measure.BREADTH and p.breadth is None:
        yield "measure breadth needs a `breadth:` section with values and min_each"
    if p.thresholds is Thresholds.BASELINE and p.measure not in (Measure.UNITS, Measure.AMOUNT):
        yield "baseline thresholds compare units or amount with last year: set measure to one"
    if p.method is Method.INCREMENTAL and (
        p.measure not in (Measure.UNITS, Measure.AMOUNT) or p.base is Base.GROWTH
    ):
        yield "incremental tiers split units or amount into bands: use measure units or amount"
    if p.pro_rata_floor is not None:
        if p.method is not Method.RETROACTIVE:
            yield "pro_rata_floor applies to retroactive tiers only"
        if not 0 < p.pro_rata_floor < 1:
            yield f"pro_rata_floor {p.pro_rata_floor} must be between 0% and 100%, e.g. 90%"
    if p.multipliers and p.base is Base.GROWTH:
        yield "multipliers weigh lines; a growth base is not made of lines: remove one"
    if p.takes_effect is not None:
        first = Period.containing(p.period, p.takes_effect)
        if p.takes_effect != first.start:
            yield (
                f"takes_effect {p.takes_effect} must start a {p.period.value}: "
                f"a version governs whole periods (use {first.next().start})"
            )
        if not p.effective.contains(p.takes_effect):
            yield f"takes_effect {p.takes_effect} is outside the program's effective dates"
    if p.expires_after is not None and p.kind is not Kind.FUND:
        yield "expires_after is for funds (kind: fund): other programs settle instead"
    if p.kind is Kind.POINTS and p.points is None and not any(t.points for t in p.tiers):
        yield "kind points needs `points: {per_amount: 100}` or tiers with points"
    if p.kind is not Kind.POINTS and (p.points or any(t.points for t in p.tiers)):
        yield "points are awarded by programs of kind points only"


class YamlDecimalLoader(yaml.SafeLoader):
    """YAML with every non-integer number read as Decimal: money never passes through float."""


def _yaml_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    """A YAML float as a Decimal; one that is no bounded number (.inf, .nan, 1.0e+400) stays
    text, for validation to refuse naming its field."""
    text = loader.construct_scalar(node)
    try:
        return read_decimal(text.replace("_", ""))
    except ValueError:
        return text


def _text_unless_read(construct):
    """PyYAML's `construct` for a scalar, leaving text it cannot read as text (a date
    2026-02-30, an integer of 5,000 digits, `!!bool maybe`) for validation to refuse naming
    its field, instead of a ValueError or KeyError from inside the parser."""

    def constructed(loader: yaml.SafeLoader, node: yaml.ScalarNode):
        try:
            return construct(loader, node)
        except (ValueError, KeyError):
            return loader.construct_scalar(node)

    return constructed


YamlDecimalLoader.add_constructor("tag:yaml.org,2002:float", _yaml_number)
for _tag in ("int", "bool", "timestamp"):
    YamlDecimalLoader.add_constructor(
        f"tag:yaml.org,2002:{_tag}",
        _text_unless_read(getattr(yaml.SafeLoader, f"construct_yaml_{_tag}")),
    )


class ProgramError(Refused):
    """Everything wrong with one program document, each problem with its field path."""

    def __init__(self, source: str, problems: list[tuple[str, str, str]]):
        self.source, self.problems = source, problems
        lines = [f"{source}: {len(problems)} problem(s)"]
        for path, message, hint in problems:
            lines.append(f"  {path or '(document)'}: {message}" + (f" — {hint}" if hint else ""))
        super().__init__("\n".join(lines))


def parse_program(text: str, source: str = "<program>") -> Program:
    """YAML text → Program, or a ProgramError naming every bad field."""
    try:
        document = yaml.load(text, Loader=YamlDecimalLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        raise ProgramError(source, [(where, f"not valid YAML: {error}", "")]) from None
    except RecursionError:  # PyYAML reads nesting by recursion
        problem = ("document", "not valid YAML: nested too deeply", "")
        raise ProgramError(source, [problem]) from None
    if not isinstance(document, dict):
        raise ProgramError(source, [("", "a program is a mapping of fields", "start with id:")])
    try:
        return Program.model_validate(document)
    except ValidationError as error:
        raise ProgramError(source, [_describe(e) for e in error.errors()]) from None


def _describe(error: dict) -> tuple[str, str, str]:
    path = ".".join(str(part) for part in error["loc"] if part != "from_")
    path = path.replace("from_", "from")
    message = error["msg"].removeprefix("Value error, ")
    return path, message, _hint(error["loc"])


def _hint(loc: tuple) -> str:
    """The field's own description, found by walking the models along the error's path."""
    model: Any = Program
    description = ""
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None or not isinstance(part, str):
            continue
        field = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        if field is None:
            return ""
        description = field.description or ""
        model = _inner_model(field.annotation)
    return description


def _inner_model(annotation: Any) -> Any:
    """The model a field holds: itself, as a list's items or as an optional's value."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None

"""Lists: pagination, sorting and exports, the same for every list the API serves.

`?limit=&offset=&sort=-id` pages a list; its own operation, `<list>/export?format=csv|xlsx`,
returns all of it (filters applied, sorted the same) as a file. (`?format=` on the list itself
still answers with the file, for this release.) Money is exact text in every format, and
sorts by its value, as numbers and dates do, never as text ("9.00" before "10.00"); no cell is
a formula (`accrue.export.cells`).
"""

from __future__ import annotations

import functools
import inspect
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Generic, TypeVar, get_args

from fastapi import Depends, Query
from fastapi.dependencies.utils import get_typed_signature
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import BaseModel
from sqlalchemy import Numeric, Select, cast, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from accrue.export.cells import csv_text, inert
from accrue.store.tables import Money

Item = TypeVar("Item", bound=BaseModel)
EMPTY = inspect.Parameter.empty
MAX_LIMIT = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"schema": {"type": "string", "format": "binary"}}  # what a generated client saves


def files(*media_types: str, description: str = "a file") -> dict:
    """A response that is a file in one of `media_types`, declared as binary; octet-stream
    comes first, which a generated client reads as bytes whichever file it is."""
    content = {m: BINARY for m in ("application/octet-stream", *media_types)}
    return {"description": description, "content": content}


EXPORTED = files("text/csv", XLSX, description="the whole list, a CSV or Excel file")


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


Format = StrEnum("Format", {"JSON": "json", **{f.name: f.value for f in FileFormat}})


class Sort(StrEnum):
    """The orders a list takes: a column ascending, or descending with a leading `-`; named
    for a generated client (`AMOUNT`, `AMOUNT_DESC`)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core, handler):
        schema = handler.resolve_ref_schema(handler(core))
        return {**schema, "x-enum-varnames": [member.name for member in cls]}


def sort_keys(name: str, keys: Sequence[str]) -> type[Sort]:
    """The Sort of the list called `name` (an operation id) by its columns `keys`."""
    title = "".join(part.title() for part in name.split("_")) + "Sort"
    members = [(k.upper(), k) for k in keys] + [(f"{k.upper()}_DESC", f"-{k}") for k in keys]
    return Sort(title, members)


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int


def item_fields(page: type[Page]) -> tuple[str, ...]:
    """The fields of a page's items."""
    [item] = get_args(page.model_fields["items"].annotation)
    return tuple(item.model_fields)


@dataclass(frozen=True)
class Paging:
    """What a list was asked for: `keys` are the columns it sorts by (the first by default);
    `file` is the format of an export (None: a page)."""

    keys: tuple[str, ...]
    sort: str | None = None
    limit: int = 50
    offset: int = 0
    file: FileFormat | None = None


def paging_parameters(name: str, keys: Sequence[str], exported: bool) -> Callable[..., Paging]:
    """The query parameters of the list `name` (sorted by `keys`), or of its export, as a
    dependency that gives the handler its Paging."""
    order = Annotated[sort_keys(name, keys) | None, Query(description="column, -column descends")]
    parameters = {"sort": (order, None)}
    if exported:
        parameters["format"] = (Annotated[FileFormat, Query(description="csv or xlsx")], EMPTY)
    else:
        parameters["limit"] = (Annotated[int, Query(ge=1, le=MAX_LIMIT)], 50)
        parameters["offset"] = (Annotated[int, Query(ge=0, le=10**9)], 0)
        # the list itself answering with a file: for this release, then only its export
        hidden = Query(include_in_schema=False, deprecated=True)
        parameters["format"] = (Annotated[Format, hidden], Format.JSON)

    def paging(sort: Sort | None, format: str, **page) -> Paging:
        file = None if format == Format.JSON else FileFormat(format)
        return Paging(tuple(keys), sort and sort.value, file=file, **page)

    paging.__signature__ = inspect.Signature(
        [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for n, (a, d) in parameters.items()
        ]
    )
    return paging


def where_given(query: Select, *conditions: tuple) -> Select:
    """`query` narrowed by each (column, value) filter the caller gave (None: not given)."""
    for column, value in conditions:
        if value is not None:
            query = query.where(column == value)
    return query


def _ordering(model, paging: Paging) -> list:
    """The sorted column, then the record's key: rows that tie on the column keep one order,
    so pages neither repeat nor skip one (PostgreSQL orders ties as it finds them)."""
    column = getattr(model, (paging.sort or "").lstrip("-") or paging.keys[0])
    ties = [key for key in sa_inspect(model).primary_key if key.key != column.key]
    if column.type is Money:  # exact decimal text in the records: ordered by its value
        column = cast(column, Numeric)
    return [column.desc() if (paging.sort or "").startswith("-") else column.asc(), *ties]


def listing(
    session: Session,
    query: Select,
    model,
    paging: Paging,
    out: Callable[[object], BaseModel],
    name: str,
):
    """A page of `query`'s rows as `out` models, or the whole list as a file."""
    ordered = query.order_by(*_ordering(model, paging))
    if paging.file:
        return export((out(r) for r in session.scalars(ordered)), name, paging.file)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(ordered.limit(paging.limit).offset(paging.offset)).all()
    return {
        "items": [out(r) for r in rows],
        "total": total,
        "limit": paging.limit,
        "offset": paging.offset,
    }


def paged(items: list[BaseModel], paging: Paging, name: str, model: type[BaseModel] | None = None):
    """The same for a list already in memory (computed reports); `model` names the columns
    of an empty export."""
    if paging.sort:
        key = paging.sort.lstrip("-")
        items = sorted(
            items, key=lambda i: _by_value(getattr(i, key)), reverse=paging.sort.startswith("-")
        )
    if paging.file:
        return export(items, name, paging.file, model)
    window = items[paging.offset : paging.offset + paging.limit]
    return {"items": window, "total": len(items), "limit": paging.limit, "offset": paging.offset}


def _by_value(value) -> tuple:
    """A sort key by what a value is: empty first, then numbers (money as exact text too) by
    value, then dates, then any other text."""
    if value is None or value == "":
        return (0,)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return (3, value)
        return (1, number) if number.is_finite() else (3, value)
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(value))
    if isinstance(value, date):
        return (2, value)
    return (3, str(value))


def export(
    items: Iterable[BaseModel], name: str, format: FileFormat, model: type[BaseModel] | None = None
) -> Response:
    rows = [i.model_dump(mode="json") for i in items]
    columns = list(rows[0]) if rows else list(model.model_fields) if model else []
    if format is FileFormat.CSV:
        text = csv_text(columns, ([_cell(v) for v in r.values()] for r in rows))
        content, media = text.encode(), "text/csv"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(name[:31])
        sheet.append(columns)
        for r in rows:
            sheet.append([_sheet_cell(v) for v in r.values()])
        buffer = io.BytesIO()
        book.save(buffer)
        content = buffer.getvalue()
        media = XLSX
    disposition = f'attachment; filename="{name}.{format.value}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


def _sheet_cell(value):
    """A cell a worksheet can hold: inert, and any control character it cannot hold shown as
    U+FFFD."""
    value = inert(_cell(value))
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def _cell(value):
    """Nested values as text; money stays text (exact), never a float."""
    return value if isinstance(value, str | int | type(None)) else str(value)


Listed = Annotated[Paging, "a list's paging and order: its route declares them"]


def with_paging(handler: Callable, parameters: Callable[..., Paging]) -> Callable:
    """`handler` given its Paging by `parameters` (a page's or an export's)."""
    signature = get_typed_signature(handler)
    given = Annotated[Paging, Depends(parameters)]
    typed = [
        p.replace(annotation=given) if p.annotation == Listed else p
        for p in signature.parameters.values()
    ]

    @functools.wraps(handler)
    def paged_handler(*args, **kwargs):
        return handler(*args, **kwargs)

    paged_handler.__signature__ = signature.replace(parameters=typed)
    return paged_handler

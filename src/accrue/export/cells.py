"""Cells a spreadsheet will not run: the one rule against formula (CSV) injection, used by
every CSV and Excel file Accrue writes.

Excel, LibreOffice and Google Sheets read a cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return as a formula, so a partner who names itself `=HYPERLINK(...)` would
get a live link into finance's export. As OWASP recommends, such a text is written with a
leading `'`, which shows it as text. A plain number (`-12.50`, money in exact text) is left
as it is: it cannot be a formula, and finance sums it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

_LEADS = r"[=+\-@\t\r]"  # =, +, -, @, tab, carriage return
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_RISKY = re.compile(_LEADS)
_PLAIN_NUMBER = re.compile(_NUMBER)


def inert(value):
    """`value` as a spreadsheet may show it: a formula-leading text behind a `'`."""
    if isinstance(value, str) and _RISKY.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(handle: TextIO, columns: Sequence[str], rows: Iterable[Sequence | Mapping]) -> None:
    """A header and rows as CSV into `handle`, every cell inert; a mapping row gives its
    values by column (a missing one is empty, an extra one left out)."""
    writer = csv.writer(handle)
    writer.writerow(columns)
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else row
        writer.writerow([inert(v) for v in values])


def csv_text(columns: Sequence[str], rows: Iterable[Sequence | Mapping]) -> str:
    """`write_csv` into a string."""
    out = io.StringIO()
    write_csv(out, columns, rows)
    return out.getvalue()


def inert_arrow(data):
    """An Arrow table or record batch with every text column inert, computed in C (the
    same rule as `inert`, for results too large to touch row by row in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def column(values):
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        if pa.types.is_string_view(values.type):  # which the regex kernels do not take
            values = values.cast(pa.string())
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return values
        risky = pc.and_(
            pc.match_substring_regex(values, f"^{_LEADS}"),
            pc.invert(pc.match_substring_regex(values, f"^({_NUMBER})$")),
        )
        quote, nothing = pa.scalar("'", values.type), pa.scalar("", values.type)
        return pc.if_else(risky, pc.binary_join_element_wise(quote, values, nothing), values)

    return type(data).from_arrays([column(c) for c in data.columns], names=data.schema.names)

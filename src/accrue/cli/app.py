"""The `accrue` app, its consoles and how every command reports errors: what is wrong and
where, exit 1; a bug is one line, exit 2 (ACCRUE_DEBUG=1 shows the trace)."""

from __future__ import annotations

import functools
import os
import sys
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from accrue.domain.errors import Refused
from accrue.domain.identifiers import MAX_RECORD_ID

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(help="Accrue: rebate programs as data, computed exactly.", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 150)
errors = Console(stderr=True, soft_wrap=True)

# Errors the user can fix, named rather than imported: importing their classes would load the
# engine, the store and SQLAlchemy before every command (tests/test_startup.py checks the names).
EXPECTED = frozenset(
    {
        "accrue.domain.errors.Refused",
        "accrue.domain.errors.NotFound",
        "accrue.store.books.NotInitialised",
    }
)
DATABASE_REFUSED = frozenset({"sqlalchemy.exc.OperationalError"})


def is_one_of(error: BaseException, names: frozenset[str]) -> bool:
    """isinstance by qualified class name, so that no error class is imported to check."""
    return any(f"{k.__module__}.{k.__qualname__}" in names for k in type(error).__mro__)


def reports_errors(command):
    """Expected failures print what is wrong and where, and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            if is_one_of(error, DATABASE_REFUSED):  # the database is not there or refuses us
                reason = str(error.orig).strip().splitlines()[0]
                errors.print(f"[bold red]error:[/] database: {reason}", highlight=False)
                raise typer.Exit(1) from None
            if is_one_of(error, EXPECTED):
                errors.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
                raise typer.Exit(1) from None
            if os.environ.get("ACCRUE_DEBUG"):  # a bug: say so briefly, or show the trace
                raise
            errors.print(
                f"[bold red]internal error:[/] {type(error).__name__}: {error}\n"
                "This is a bug in Accrue; run again with ACCRUE_DEBUG=1 for the details.",
                highlight=False,
            )
            raise typer.Exit(2) from None

    return wrapper


def progress_bar() -> Progress:
    """Imported here: Rich's progress module is only needed by the commands that show one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


def record_id(help: str):
    """A record's id as an argument, from 1 to the records' 32-bit limit: a mistyped one is a
    usage error, not an overflow in the database."""
    return typer.Argument(help=help, min=1, max=MAX_RECORD_ID)


def record_option(*names: str, help: str):
    """A record's id as an option, bounded as `record_id`."""
    return typer.Option(*names, help=help, min=1, max=MAX_RECORD_ID)


def parse_amount(text: str | None, option: str) -> Decimal | None:
    """An exact amount given as an option, or a refusal naming the option."""
    from accrue.domain.numbers import read_decimal

    if text is None or not text.strip():
        return None
    try:
        return read_decimal(text)
    except Refused as refused:
        raise Refused(f"{option} {text!r} {refused}") from None


def parse_date(text: str | None, option: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{option} {text!r} is not a date: write YYYY-MM-DD") from None

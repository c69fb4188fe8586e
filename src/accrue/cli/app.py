"""The `accrue` app, its consoles and how every command reports errors: what is wrong and
where, exit 1; a bug is one line, exit 2 (ACCRUE_DEBUG=1 shows the trace)."""

from __future__ import annotations

import functools
import os
import sys
from datetime import date

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError

from accrue.domain.program import ProgramError
from accrue.engine import DataError
from accrue.engine.plan import MissingRateError
from accrue.ingest.errors import InputError
from accrue.store.books import NotInitialised

app = typer.Typer(help="Accrue: rebate programs as data, computed exactly.", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 150)
errors = Console(stderr=True, soft_wrap=True)

EXPECTED = (
    InputError,
    ProgramError,
    DataError,
    MissingRateError,
    ValueError,
    LookupError,
    NotInitialised,
)


def reports_errors(command):
    """Expected failures print what is wrong and where, and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except OperationalError as error:  # the database is not there or refuses us
            reason = str(error.orig).strip().splitlines()[0]
            errors.print(f"[bold red]error:[/] database: {reason}", highlight=False)
            raise typer.Exit(1) from None
        except EXPECTED as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
            raise typer.Exit(1) from None
        except Exception as error:  # a bug: say so briefly; ACCRUE_DEBUG=1 shows the trace
            if os.environ.get("ACCRUE_DEBUG"):
                raise
            errors.print(
                f"[bold red]internal error:[/] {type(error).__name__}: {error}\n"
                "This is a bug in Accrue; run again with ACCRUE_DEBUG=1 for the details.",
                highlight=False,
            )
            raise typer.Exit(2) from None

    return wrapper


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )


def parse_date(text: str | None, option: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date: write YYYY-MM-DD") from None

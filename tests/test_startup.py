"""Every command starts fast: loading the CLI imports no heavy library, each command imports what
it uses when it runs. Not a timing test (timings are noise on a busy machine): what is imported."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest
from sqlalchemy.exc import OperationalError

from accrue.cli.app import DATABASE_REFUSED, EXPECTED, is_one_of
from accrue.cli.books import MASTER_KINDS
from accrue.domain.errors import NotFound
from accrue.engine import DataError
from accrue.engine.plan import MissingRateError
from accrue.ingest.errors import InputError
from accrue.store.books import NotInitialised
from accrue.store.master import KINDS

HEAVY = {
    "ibis",
    "duckdb",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "pandas",
    "numpy",
    "pyarrow",
    "fpdf",
    "openpyxl",
    "uvicorn",
    "starlette",
    "jinja2",
    "argon2",
}
COMMANDS = (
    "init",
    "import",
    "recalc",
    "close",
    "pay",
    "reverse",
    "ledger",
    "audit",
    "trace",
    "quarantine",
    "calc",
    "explain",
    "validate",
    "analyze",
    "claims",
    "approve",
    "user",
    "serve",
)


def _python(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_loading_the_cli_imports_no_heavy_library():
    printed = _python("-c", "import accrue.cli, sys; print(sorted(m for m in sys.modules))")
    loaded = {name.split(".")[0] for name in ast.literal_eval(printed)}
    assert loaded & HEAVY == set()


def test_help_lists_every_command():
    shown = _python("-m", "accrue", "--help")
    assert [c for c in COMMANDS if f" {c} " not in shown] == []


@pytest.mark.parametrize("name", sorted(EXPECTED | DATABASE_REFUSED))
def test_error_names_are_where_the_classes_are_defined(name):
    module, _, cls = name.rpartition(".")
    found = getattr(importlib.import_module(module), cls)
    assert issubclass(found, Exception)
    assert f"{found.__module__}.{found.__qualname__}" == name


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InputError([]), True),
        (MissingRateError("no rate"), True),
        (DataError("bad"), True),
        (NotInitialised("none"), True),
        (NotFound("no batch 7"), True),
        (KeyError("a bug's dictionary lookup"), False),
        (ValueError("a library's refusal we did not expect"), False),
        (RuntimeError("a bug"), False),
    ],
)
def test_expected_errors_are_recognised_with_their_subclasses(error, expected):
    assert is_one_of(error, EXPECTED) is expected


def test_a_refusing_database_is_recognised():
    refused = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert is_one_of(refused, DATABASE_REFUSED)
    assert not is_one_of(refused, EXPECTED)


def test_master_commands_are_the_master_kinds():
    assert tuple(KINDS) == MASTER_KINDS

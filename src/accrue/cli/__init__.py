"""The `accrue` command line."""

from accrue.cli import analyze, books, claims, files, jobs, money, people  # noqa: F401  (they register)
from accrue.cli.app import app

__all__ = ["app"]

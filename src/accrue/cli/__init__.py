"""The `accrue` command line."""

from accrue.cli import analyze, books, claims, files, money, people  # noqa: F401  (they register)
from accrue.cli.app import app

__all__ = ["app"]

"""The `accrue` command line."""

from accrue.cli import analyze, books, claims, files, people  # noqa: F401  (they register their commands)
from accrue.cli.app import app

__all__ = ["app"]

"""The engine: programs + data in, standings and attributions out.

`Engine(dataset).run(programs, as_of=...)` is the one entry point the CLI, storage and portal
use. The relational part (filter, join, sum integers) is an Ibis plan, so the same plan runs on
DuckDB (the default), PostgreSQL or a distributed backend; the rules run in Decimal.
"""

from accrue.engine.dataset import DataError, DataSet
from accrue.engine.runner import Engine, Result

__all__ = ["DataError", "DataSet", "Engine", "Result"]

"""The engine: programs + data in, standings and attributions out.

`Engine(dataset).run(programs, as_of=...)` is the one entry point the CLI, storage and portal
use. The relational part (filter, join, sum integers) is an Ibis plan, so the same plan runs on
DuckDB (the default), PostgreSQL or Spark, and so do the rules (engine.rules), in exact
integers; the Decimal rules of the domain are their oracle.
"""

import ibis

from accrue.engine.dataset import DataError, DataSet
from accrue.engine.runner import Engine, Result

# A plan is a deep stack of projections. Ibis would fuse each into the next, inlining every
# column's expression and weighing each merge by walking the whole graph: half the time of
# compiling a program's rules. The engines' own optimisers flatten nested projections anyway
# (measured on DuckDB: the same execution time, unfused).
ibis.options.sql.fuse_selects = False

__all__ = ["DataError", "DataSet", "Engine", "Result"]

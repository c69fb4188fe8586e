"""Where the plan runs: an Ibis backend for DuckDB (the default), PostgreSQL or Spark.

The plan is the same on every engine; what one engine needs to stay exact lives here. Spark
through Ibis 12 needs three things the plan should not know about:

- the small in-memory tables (`ibis.memtable`) registered before `.cache()` compiles an
  expression that reads them: Ibis registers them only on execution, so caching failed with
  TABLE_OR_VIEW_NOT_FOUND;
- Arrow in and out instead of pandas: Ibis's pyspark backend round-trips through pandas, where
  an integer column holding a null turns into float64 and loses digits above 2**53;
- a session set for exactness (ANSI mode: an overflow raises instead of becoming null; UTC)
  and for quiet logs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from importlib.resources import files

import ibis
from ibis.formats.pyarrow import PyArrowData

from accrue.domain.errors import Refused
from accrue.engine.dataset import LINE_SCHEMA, DataError, DataSet

ENGINES = ("duckdb", "postgres", "spark")
SPARK_MASTER = "local[2]"

# Set on every Spark session, Spark Connect included: the plan's integers must never wrap or
# turn into nulls, and dates are dates whatever the cluster's time zone.
EXACT = {"spark.sql.ansi.enabled": "true", "spark.sql.session.timeZone": "UTC"}


class EngineUnavailable(Refused):
    """An engine whose software is not installed here; the message says what to install."""


def connect(engine: str, settings: Mapping[str, str] | None = None):
    """An Ibis backend for `engine`; settings are the engine's connection arguments (for
    Spark, `master`: `local[2]` by default, a cluster URL, or `sc://host:15002` for Spark
    Connect)."""
    settings = dict(settings or {})
    if engine == "duckdb":
        return ibis.duckdb.connect(**settings)
    if engine == "postgres":
        return ibis.postgres.connect(**settings)
    if engine == "spark":
        return spark(**settings)
    raise Refused(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")


def overflowed(error: Exception) -> bool:
    """The backend refused a number too wide for DECIMAL(38) rather than wrapping it: DuckDB's
    out-of-range error, SQLSTATE 22003 (numeric value out of range) from PostgreSQL and from
    Spark in ANSI mode."""
    if type(error).__name__ == "OutOfRangeException":
        return True
    state = getattr(error, "sqlstate", None)
    if state is None and hasattr(error, "getSqlState"):
        state = error.getSqlState()
    return state == "22003"


def spark(master: str | None = None):
    """A Spark backend on a new (or the running) session. `master` defaults to the
    ACCRUE_SPARK_MASTER variable, then `local[2]`."""
    master = master or os.environ.get("ACCRUE_SPARK_MASTER") or SPARK_MASTER
    missing = spark_missing(remote=master.startswith("sc://"))
    if missing:
        raise EngineUnavailable(f"the Spark engine needs {missing}")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("accrue")
    if master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        builder = builder.master(master)
        for key, value in _launch_conf(master).items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    _quiet_python_logs()
    return _exact_spark_backend().connect(session, **EXACT)


def spark_missing(remote: bool = False) -> str | None:
    """What this machine lacks to run Spark, or None: PySpark, and Java unless the driver
    runs elsewhere (Spark Connect)."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark (pip install 'accrue[spark]')"
    if not remote and not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        return "Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
    return None


def _launch_conf(master: str) -> dict[str, str]:
    """Settings for a driver launched here: errors only in the logs, no progress bars; in
    local mode no web UI, a few shuffle partitions (Spark's 200 are meant for a cluster) and
    room for the lines attribution fetches (the driver is the executor)."""
    log4j = files("accrue.engine") / "spark-log4j2.properties"
    conf = {
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j}",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        conf |= {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.memory": "4g",
        }
    return conf


def _quiet_python_logs() -> None:
    """PySpark logs every failed query's full Java stack on stderr before raising it; the
    exception already says what went wrong."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel("CRITICAL")


def _exact_spark_backend():
    """Ibis's pyspark backend with memtables registered before caching and Arrow both ways
    (a class made on first use: PySpark is an optional dependency)."""
    from ibis.backends.pyspark import Backend

    class ExactSpark(Backend):
        def _register_in_memory_table(self, op) -> None:
            frame = self._session.createDataFrame(op.data.to_pyarrow(op.schema))
            frame.createOrReplaceTempView(op.name)

        def _create_cached_table(self, name, expr):
            self._run_pre_execute_hooks(expr)
            return super()._create_cached_table(name, expr)

        def to_pyarrow(self, expr, /, *, params=None, limit=None, **kwargs):
            self._run_pre_execute_hooks(expr)
            table = expr.as_table()
            query = self.compile(table, params=params, limit=limit, **kwargs)
            arrow = self._session.sql(query).toArrow()
            return expr.__pyarrow_result__(PyArrowData.convert_table(arrow, table.schema()))

    return ExactSpark()


def lines_from_parquet(backend, path: str) -> ibis.Table:
    """Lines already in the line store's exact integer columns (`LINE_SCHEMA`), read from
    Parquet at a path every executor reaches: a local folder in local mode; on a cluster a
    shared file system, HDFS or an object store."""
    lines = backend.read_parquet(path)
    expected = ibis.Schema.from_pyarrow(LINE_SCHEMA)
    found = {name: dtype.copy(nullable=True) for name, dtype in lines.schema().items()}
    wanted = {name: dtype.copy(nullable=True) for name, dtype in expected.items()}
    if found != wanted:
        raise DataError(f"{path}: lines must have the columns {wanted}, not {found}")
    return lines


def moved_to(data: DataSet, backend, folder: str) -> DataSet:
    """The same data with its (already validated) lines on `backend`: written once as Parquet
    into `folder`, a path the cluster reaches, and read from there."""
    path = os.path.join(folder, "lines.parquet")
    data.lines.to_parquet(path)
    return replace(data, lines=lines_from_parquet(backend, path))


@contextmanager
def on_spark(data: DataSet, master: str | None = None, staging: str | None = None):
    """`data` with its lines on Spark for the length of the block. The lines were validated
    and made exact integers on the way in (DuckDB); they go to Spark as Parquet in `staging`,
    a folder both this machine and the cluster reach (a temporary folder by default, enough
    in local mode)."""
    with _staging(staging) as folder:
        backend = spark(master)
        try:
            yield moved_to(data, backend, folder)
        finally:
            backend.disconnect()


@contextmanager
def _staging(folder: str | None) -> Iterator[str]:
    if folder:
        os.makedirs(folder, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="accrue-spark-") as temporary:
        yield temporary

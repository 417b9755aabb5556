"""Engines behind :class:`~modelward.predlog.engine.Engine`: DuckDB (:mod:`.duckdb`), in
process, and Spark (:mod:`.spark`), on a cluster; both run :mod:`.sql`'s statements. Each
module imports its library only inside the functions that use it, and :func:`engine`
imports an engine's module only when it is chosen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from modelward.errors import ConfigError

if TYPE_CHECKING:
    from modelward.predlog.engine import Engine
    from modelward.predlog.files import LogFiles

__all__ = ["ENGINES", "engine"]

#: The engines a user chooses from (``--engine``, ``monitoring.engine``).
ENGINES = ("duckdb", "spark")


def engine(
    name: str = "duckdb", *, spark_master: str | None = None
) -> Callable[[LogFiles], Engine]:
    """What makes the engine ``name`` for a log (``spark_master``: Spark's master URL,
    for Spark only)."""
    from modelward.policy.model import SPARK_MASTER

    if spark_master is not None and not SPARK_MASTER.fullmatch(spark_master):
        raise ConfigError(
            f"--spark-master {spark_master!r} is not a Spark master URL; use local[N], "
            "local[*], spark://HOST:PORT, yarn or k8s://https://HOST:PORT",
            field="spark_master",
        )
    if name == "duckdb" and spark_master is not None:
        raise ConfigError(
            "--spark-master is for the Spark engine; add --engine spark (or set "
            "monitoring.engine: spark in policy.yml)",
            field="spark_master",
        )
    if name == "duckdb":
        from modelward.predlog.engines.duckdb import DuckDBEngine

        return DuckDBEngine
    if name == "spark":
        from modelward.predlog.engines.spark import DEFAULT_MASTER, SparkEngine

        return partial(SparkEngine, master=spark_master or DEFAULT_MASTER)
    raise ConfigError(
        f"engine {name!r} is not one of {', '.join(ENGINES)}; use --engine duckdb or spark",
        field="engine",
    )

"""Engines behind :class:`~modelward.predlog.engine.Engine`: DuckDB (:mod:`.duckdb`), in
process. Each module imports its library only inside the functions that use it."""

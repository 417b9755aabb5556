"""The Spark engine against the DuckDB engine: the same check on the same log gives the
same result (values, verdicts, counts), for every check and every task, on the whole
window and on its hash sample; a corrupt file is the same one-line error.

One Spark session (``local[2]``) serves every test here (session-scoped fixture)."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from tests.monitor.conftest import END


@pytest.fixture
def db_url(tmp_path) -> str:
    """SQLite only: the engines read the log, not the metadata database."""
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


def _unavailable() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install pyspark)"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java on this machine (Spark needs Java 17)"
    return None


@pytest.fixture(scope="session")
def spark():
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    from modelward.predlog.engines.spark import session

    found = session(
        "local[2]",
        **{
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
        },
    )
    yield found
    found.stop()


def _until(days: int) -> str:
    return (END - timedelta(days=days)).isoformat()


def _outcome(result: Any) -> dict[str, Any]:
    """What a user reads of a check: its results, verdict, breaches and warnings."""
    return {
        "results": result.results,
        "verdict": result.verdict,
        "breaches": result.breaches,
        "warnings": result.warnings,
    }


def _both(ws, spark, check: str, name: str, **options: Any) -> tuple[dict, dict]:
    """``check`` of ``name`` run by each engine on the same log (not stored, no alert)."""
    from modelward.monitoring import Monitor
    from modelward.predlog.engines.spark import SparkEngine
    from modelward.predlog.reader import LogReader

    found = []
    for engine in ("duckdb", "spark"):
        monitor = Monitor(ws, alert=False)
        if engine == "spark":
            monitor.log = LogReader(
                ws.logs_url, wal=ws.layout.wal, engine=partial(SparkEngine, spark=spark)
            )
        try:
            found.append(_outcome(getattr(monitor, check)(name, record=False, **options)))
            if engine == "spark":  # Spark read the log's files itself
                assert isinstance(monitor.log.engine, SparkEngine) and monitor.log.engine._views
        finally:
            monitor.log.close()
    return found[0], found[1]


@pytest.mark.parametrize("check", ["metrics", "drift", "quality", "predictions"])
def test_a_binary_models_daily_checks_are_the_same_on_both_engines(served, spark, check):
    duck, spark_found = _both(served.ws, spark, check, "heart", until=_until(1))
    assert spark_found == duck
    assert duck["results"]  # the check saw the day's rows


def test_the_hash_sample_keeps_the_same_requests_on_both_engines(served, spark, monkeypatch):
    """Above the checks' row bounds both engines read a hash sample: the same requests,
    so the same metrics, intervals and drift statistics."""
    import modelward.monitoring.checks.drift as drift
    import modelward.monitoring.metrics as metrics

    monkeypatch.setattr(metrics, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(metrics, "CI_SAMPLE", 20)
    monkeypatch.setattr(metrics, "CI_ROWS", 40)
    monkeypatch.setattr(drift, "MAX_ROWS", 50)
    for check in ("metrics", "drift"):
        duck, spark_found = _both(served.ws, spark, check, "heart", until=_until(1))
        assert spark_found == duck
    assert 0 < duck["results"]["features"]["chol"]["current_rows"] < len(served.days["va"])


@pytest.mark.parametrize("check", ["degradation", "review"])
def test_a_binary_models_slices_and_reviews_are_the_same_on_both_engines(served, spark, check):
    duck, spark_found = _both(served.ws, spark, check, "heart", last="3d", until=END)
    assert spark_found == duck


def test_the_reports_metric_series_is_the_same_on_both_engines(served, spark):
    """Each day's values and intervals, from the flags and scores each engine hands over
    (its own microseconds of ``ts``)."""
    from modelward.monitoring import Monitor
    from modelward.monitoring.checks import Metrics
    from modelward.monitoring.series import metric_series
    from modelward.predlog.engines.spark import SparkEngine
    from modelward.predlog.reader import LogReader

    found = []
    for engine in ("duckdb", "spark"):
        monitor = Monitor(served.ws, alert=False)
        if engine == "spark":
            monitor.log = LogReader(
                served.ws.logs_url,
                wal=served.ws.layout.wal,
                engine=partial(SparkEngine, spark=spark),
            )
        try:
            found.append(
                metric_series(monitor.context(Metrics(), "heart", "7d", END, "production"))
            )
        finally:
            monitor.log.close()
    assert found[1] == found[0]
    assert len(found[0]["points"]) == len(served.days)


@pytest.fixture
def in_s3(served, s3):
    """The served workspace with its prediction log copied into a bucket of moto's S3
    server, and opened there (the metadata and the write-ahead folder as before)."""
    import s3fs

    from modelward import Workspace

    url = f"s3://{s3.bucket}/logs"
    s3fs.S3FileSystem().put(served.ws.logs_url + "/", url, recursive=True)
    ws = Workspace(served.ws.root, db_url=served.ws.db_url, logs_url=url)
    yield ws
    ws.close()


@pytest.mark.parametrize("check", ["metrics", "drift", "quality"])
def test_a_log_in_s3_gives_the_same_checks_on_duckdb_and_spark(in_s3, spark, check):
    """Scenario (7) of running as a team: DuckDB reads the log in S3 through fsspec, Spark
    (local[2]: this process reads the objects for it, as pyspark has no S3 connector)
    computes the same check from the same objects: the same result."""
    duck, spark_found = _both(in_s3, spark, check, "heart", until=_until(1))
    assert spark_found == duck
    assert duck["results"]


@pytest.fixture
def penguins_log(workspace):
    """Two days of a multiclass model (species) and of a regressor (body mass), each
    labelled; the regressor's second day 600 g off."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from tests.monitor.logdata import traffic, write_traffic
    from tests.monitor.test_regression_checks import NUMERIC, START, TARGET, _log, _penguins

    data = _penguins()
    species = LogisticRegression(max_iter=2000).fit(data[NUMERIC], data["species"])
    workspace.register("species", species, data=data[[*NUMERIC, "species"]], target="species")
    flavor = workspace.load_model("species", 1)
    rows = data[NUMERIC].assign(target=data["species"])
    for days, seed in ((1, 0), (0, 1)):
        pred, feedback = traffic(
            flavor,
            rows.sample(frac=0.8, random_state=seed).reset_index(drop=True),
            start=START - timedelta(days=days),
            spacing=timedelta(seconds=60),
            version=1,
            features=NUMERIC,
            label_share=0.9,
            seed=seed,
        )
        write_traffic(workspace.logs_url, "species", pred, feedback)
    mass = LinearRegression().fit(data[NUMERIC], data[TARGET])
    workspace.register("mass", mass, data=data[[*NUMERIC, TARGET]], target=TARGET)
    _log(workspace, "mass", mass, data, start=START - timedelta(days=1))
    _log(workspace, "mass", mass, data, offset=600.0, first_id=10_000)
    return workspace, (START + timedelta(hours=12)).isoformat()


@pytest.mark.parametrize(
    "check", ["metrics", "drift", "quality", "predictions", "degradation", "review"]
)
@pytest.mark.parametrize("model", ["species", "mass"])
def test_multiclass_and_regression_checks_are_the_same_on_both_engines(
    penguins_log, spark, check, model
):
    ws, until = penguins_log
    duck, spark_found = _both(ws, spark, check, model, last="24h", until=until)
    assert spark_found == duck
    assert duck["results"]


def test_the_cli_and_the_policy_choose_spark(served, spark, cli):
    """``--engine spark`` (or ``monitoring.engine: spark`` in policy.yml) runs the check on
    Spark: the same JSON a user reads from DuckDB."""
    from tests.monitor.conftest import set_policy

    def checked(ran: Any) -> dict[str, Any]:  # the check, not its alert's state
        return {k: v for k, v in ran.json["results"].items() if k != "alert"}

    args = ("monitor", "quality", "heart", "--until", _until(1), "--json")
    duck = cli(*args)
    on_spark = cli(*args, "--engine", "spark", "--spark-master", "local[2]")
    assert on_spark.exit_code == duck.exit_code == 1, on_spark.stderr
    assert checked(on_spark) == checked(duck)
    set_policy(served.ws, monitoring={"engine": "spark", "spark_master": "local[2]"})
    by_policy = cli(*args)
    assert checked(by_policy) == checked(duck) and checked(duck)["rows"] > 0
    assert by_policy.json["verdict"] == duck.json["verdict"]


def test_a_corrupt_log_file_is_the_same_one_line_error_on_both_engines(served, spark, cli):
    day = (END - timedelta(days=1)).date().isoformat()
    part = served.ws.root / "logs" / "predictions" / "model=heart" / f"date={day}"
    (good,) = part.glob("*.parquet")
    data = bytearray(good.read_bytes())  # its footer intact, its pages overwritten
    data[4 : len(data) // 2] = b"\xff" * (len(data) // 2 - 4)
    (part / "w9-broken.parquet").write_bytes(bytes(data))
    args = ("monitor", "metrics", "heart", "--until", _until(0))  # that day
    errors = []
    for engine in ("duckdb", "spark"):
        ran = cli(*args, "--engine", engine)
        assert ran.exit_code == 2, ran.stderr
        message = ran.stderr.strip()
        assert "\n" not in message and "Traceback" not in message
        assert "cannot read the prediction log" in message and "docs/monitor.md" in message
        errors.append(message)
    assert errors[0] != errors[1]  # each engine says what it found


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--engine", "flink"), "engine 'flink'"),
        (("--spark-master", "local[2] --conf x"), "--spark-master"),
        (("--engine", "duckdb", "--spark-master", "local[2]"), "--spark-master"),
    ],
)
def test_hostile_engine_options_are_one_line_errors(served, cli, options, named):
    ran = cli("monitor", "metrics", "heart", "--until", _until(1), *options)
    assert ran.exit_code == 2
    assert named in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"engine": "hadoop"}, "monitoring.engine"),
        ({"engine": "spark", "spark_master": "spark://evil host:7077"}, "monitoring.spark_master"),
    ],
)
def test_a_hostile_engine_in_the_policy_is_a_one_line_error(served, cli, section, key):
    import yaml

    policy = served.ws.root / "policy.yml"
    text = yaml.safe_load(policy.read_text(encoding="utf-8")) or {}
    text.setdefault("monitoring", {}).update(section)
    policy.write_text(yaml.safe_dump(text), encoding="utf-8")
    ran = cli("monitor", "metrics", "heart", "--until", _until(1))
    assert ran.exit_code == 2
    assert key in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_without_pyspark_or_java_the_error_says_what_to_install(served, cli, monkeypatch):
    import sys

    args = ("monitor", "metrics", "heart", "--until", _until(1), "--engine", "spark")
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as if it were not installed
    ran = cli(*args)
    assert ran.exit_code == 2 and "pip install 'modelward[spark]'" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    monkeypatch.delitem(sys.modules, "pyspark.sql")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    ran = cli(*args)
    assert ran.exit_code == 2 and "needs Java 17" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_the_sample_hash_is_the_same_in_python_duckdb_and_spark(spark):
    """The hash that picks a sample's requests, as each engine spells it in SQL, equals
    :func:`sample_hash` for ids of every kind (uuid hex, empty, non-ASCII)."""
    import uuid

    import duckdb

    from modelward.predlog.engines.duckdb import DuckDBEngine
    from modelward.predlog.engines.spark import SparkEngine
    from modelward.predlog.engines.sql import sample_hash

    ids = ["abc", "", "é日本", "it's", *(uuid.UUID(int=i * 7919).hex for i in range(100))]
    expected = {i: sample_hash(i) for i in ids}
    assert expected["abc"] == 515660037898893677  # md5_number('abc') >> 68, worked by hand
    on_duckdb = duckdb.sql(
        f"SELECT i, {DuckDBEngine.hashed(None, 'i')} FROM (SELECT unnest($ids) AS i)",  # type: ignore[arg-type]
        params={"ids": ids},
    ).fetchall()
    frame = spark.createDataFrame([(i,) for i in ids], "i STRING")
    on_spark = frame.selectExpr("i", SparkEngine.hashed(None, "i")).collect()  # type: ignore[arg-type]
    assert dict(on_duckdb) == expected
    assert {row[0]: row[1] for row in on_spark} == expected


def test_rows_not_yet_published_read_the_same_on_both_engines(tmp_path, spark):
    """The write-ahead folder's rows (converted to private Parquet files beside the log's)
    and their labels: the same counts, sums, quantile and rows from both engines, and
    from Spark as on a cluster (the private files read on the driver and handed over, as
    executors elsewhere cannot open them)."""
    from datetime import UTC, datetime

    from modelward.predlog import LogReader, LogWriter
    from modelward.predlog.engines.spark import SparkEngine
    from modelward.predlog.reader import Span

    logs, wal = tmp_path / "logs", tmp_path / "wal"
    types = {"in_age": "int64", "in_chol": "float64"}
    now = datetime.now(UTC)
    window = Span(now - timedelta(hours=1), now + timedelta(hours=1))
    found = []
    with LogWriter(str(logs), wal_dir=wal) as writer:
        for i in range(40):
            row = {
                "request_id": f"r{i}", "version": 1, "environment": "production",
                "status": "ok" if i % 7 else "error", "latency_ms": 0.5 + i,
                "prediction": str(i % 2), "score": i / 40, "in_age": 40 + i,
                "in_chol": None if i % 3 == 0 else 200.5 + i,
            }  # fmt: skip
            writer.log_prediction("heart", row, types)
        for i in range(0, 40, 2):
            writer.log_feedback("heart", f"r{i}", str(i % 3 == 0))
        assert not list(logs.rglob("*.parquet"))  # nothing published yet

        def as_on_a_cluster(files):
            engine = SparkEngine(files, spark=spark)
            engine._on_driver = False  # what a spark:// or yarn master makes it
            return engine

        for engine in (None, partial(SparkEngine, spark=spark), as_on_a_cluster):
            reader = LogReader(str(logs), wal=wal, **({"engine": engine} if engine else {}))
            scan = reader.scan("heart", window, labels=True)
            if engine is as_on_a_cluster:  # the private files are the driver's to hand over
                assert all(reader.engine._driver_only(f.path) for f in scan.files)
            found.append(
                (
                    reader.census(scan),
                    reader.aggregate(
                        scan,
                        [
                            "count(label)", "sum(in_age)", "count(in_chol)",
                            reader.quantile("latency_ms", 0.9), "min(ts)",
                        ],
                    ),
                    reader.rows(scan, ["request_id", "label"], order="latest", limit=5).to_pylist(),
                )
            )  # fmt: skip
            reader.close()
    assert found[1] == found[0] and found[2] == found[0]
    assert found[0][1][0][:3] == (20, sum(40 + i for i in range(40)), 26)


def test_hostile_text_reaches_spark_as_the_same_literal_and_name(spark):
    """Quotes, backslashes and comment marks in a value or a column's name mean the same
    to Spark as to DuckDB: the shared dialect's quoting, translated."""
    import duckdb

    from modelward.predlog.engine import column, literal
    from modelward.predlog.engines.spark import spark_sql

    texts = ["it's", "back\\slash\\'", 'dou"ble', "-- not a comment", "/* nor */ this", "日本"]
    select = ", ".join(f"{literal(t)} AS {column(f'c{i} {t}')}" for i, t in enumerate(texts))
    on_spark = spark.sql(spark_sql(f"SELECT {select}")).toArrow().to_pylist()
    on_duckdb = duckdb.sql(f"SELECT {select}").to_arrow_table().to_pylist()
    assert on_spark == on_duckdb == [{f"c{i} {t}": t for i, t in enumerate(texts)}]

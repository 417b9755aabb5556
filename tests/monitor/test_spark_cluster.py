"""The Spark engine on a cluster, not only ``local[N]``: a Spark standalone master and a
worker (pyspark's own ``spark-class``, on 127.0.0.1), reached with ``--spark-master
spark://…`` as a user reaches theirs. The worker's executors read the log's Parquet files
themselves; the check is the same as DuckDB's on the same log.

(A cluster reading a log in S3 needs the hadoop-aws connector on its classpath, which comes
from Maven and cannot be fetched here; docs/scale.md says so.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.monitor.conftest import END

from conftest import ROOT


@pytest.fixture
def db_url(tmp_path) -> str:
    """SQLite only: the engines read the log, not the metadata database."""
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


def _spark_class() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    found = Path(pyspark.__file__).parent / "bin" / "spark-class"
    return found if found.exists() and shutil.which("java") else None


def _started(argv: list[str], log: Path, pattern: str, env: dict[str, str]) -> tuple:
    out = log.open("wb")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return proc, found
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{argv[1]} did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[str]:
    """A standalone master and one worker (2 cores, 1 GiB); the master's URL."""
    spark_class = _spark_class()
    if spark_class is None:
        pytest.skip("needs pyspark (pip install pyspark) and Java 17 for a Spark cluster")
    folder = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(folder)}
    master, found = _started(
        [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", "0", "--webui-port", "0"],
        folder / "master.log", r"Starting Spark master at (spark://127\.0\.0\.1:\d+)", env,
    )  # fmt: skip
    url = found.group(1)
    worker, _ = _started(
        [str(spark_class), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
         "--cores", "2", "--memory", "1g", "--webui-port", "0"],
        folder / "worker.log", r"Successfully registered with master", env,
    )  # fmt: skip
    yield url
    for proc in (worker, master):
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_check_on_a_spark_cluster_equals_duckdbs(served, cluster, cli):
    until = (END - timedelta(days=1)).isoformat()
    args = ["monitor", "drift", "heart", "--until", until, "--json"]
    duck = cli(*args)
    env = {
        **os.environ, "PYTHONPATH": str(ROOT / "src"), "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }  # fmt: skip
    on_cluster = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", *args, "--engine", "spark",
         "--spark-master", cluster],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert on_cluster.returncode == duck.exit_code, on_cluster.stderr[-3000:]
    import json

    def checked(text: str) -> dict:  # the check, not its alert's state or its stored run
        results = json.loads(text)["results"]
        return {k: v for k, v in results.items() if k not in ("alert", "run")}

    assert checked(on_cluster.stdout) == checked(duck.stdout)
    assert checked(duck.stdout)["features"]

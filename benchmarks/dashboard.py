"""Benchmark: every dashboard page's answer time on a big workspace (issue 19: < 100 ms p95).

    python benchmarks/dashboard.py           # 50 models, 2,000 versions, 100,000 runs, 10 M rows
    python benchmarks/dashboard.py --quick   # a tenth of that (log: a hundredth), to iterate
    python benchmarks/dashboard.py --reuse --requests 50   # on the workspace built before
    python benchmarks/dashboard.py --reuse --src ../other/src   # another checkout's pages

The workspace starts as the one the demos build (``examples/heart-disease/demo.py`` and
``examples/llm/demo.py`` in one folder, as tests/ui/conftest.py does; ``MODELWARD_UI_BUILT``
names a folder built before, else it is built once in ``benchmarks/.work/dashboard``): a
``modelward init`` workspace whose versions, runs, events, rollouts, alerts, routing
revisions and usage were made by the real commands. Its rows are the templates: the rest
is inserted with SQL in one transaction, each row a copy of a real one of the same kind
(the same ``results``/``inputs``/``reference_profile`` JSON) with its model, version, time
and ids changed, so every table has the shapes and sizes the commands write:

- models: up to 50 (tabular ones copied from ``heart-disease``, LLM endpoints from the
  demo's endpoints); versions: up to 2,000, half of them ``heart-disease``'s (one model
  with many, as a long-lived model has); each model one version in production, some in
  staging, the others retired;
- runs: up to 100,000 of the real kinds (monitoring checks most, then rollout decisions,
  evaluations, validations, prediction tests, LLM evaluations, routing, backups), their
  times spread over 90 days in id order; one rollout of ``heart-disease`` with 5,000 of the
  rollout decisions (a long canary), 200 rollouts in all;
- events: registration and transitions of every version, deployments, rollout steps;
  deployments (production and staging of each model), 2,000 alerts (50 open), 600
  routing revisions, a year of daily LLM usage;
- a prediction log of 10 M rows in the server's layout (``<logs>/predictions/model=…/
  date=…/*.parquet``, the columns of :mod:`modelward.predlog.layout`), 10 days of
  ``heart-disease``: no page may read it, it is there so that one that did would show.

The metadata DB is SQLite, a user's default (no ``ANALYZE``: modelward never runs one,
so the planner has no statistics, as on a user's machine); ``modelward serve`` brings its
schema up to date when it starts, as it does a user's.

Then ``modelward serve --port 0`` runs on it (as a user starts it; loopback, no token),
every GET page of ``modelward.ui.pages.PAGES`` is found (its path's parameters filled
with the big model, its latest version, the rollout with most decisions, its latest drift
run, a model card; a page about one record also as ``?page=20``, a deep page), warmed
up, and requested ``--requests`` times in turn over one keep-alive connection. Each
page's p50/p95/max (ms, as the client saw them) is printed against the 100 ms p95 target,
with the server's CPU time per request (median, all its threads: on a busy machine wall
time grows with the wait for a core, CPU time much less), the machine's load average
before and after, and the workspace's sizes and build time. Page modules without routes
yet are named and left out. Exit code 1 when a page misses the target or answers other
than 200. ``--src`` serves another checkout's ``src`` on the same workspace (A/B).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "dashboard"
TARGET_MS = 100.0
BIG = "heart-disease"  # the demos' tabular model: the one with many versions and runs
DAYS = 90  # the runs' and events' times span this many days up to now
SIZES = {  # the workspace; --quick divides by 10 (the log by 100)
    "models": 50,
    "versions": 2_000,
    "runs": 100_000,
    "rollouts": 200,
    "decisions": 5_000,  # rollout runs of the one long rollout
    "alerts": 2_000,
    "open_alerts": 50,
    "routing": 600,
    "log_rows": 10_000_000,
}
#: run kind -> its share of the runs of a tabular model (what the daily runbook, the
#: canaries and the release checks leave behind), and of an LLM endpoint.
TABULAR_KINDS = {
    "monitor-drift": 24,
    "monitor-metrics": 24,
    "monitor-quality": 20,
    "monitor-report": 4,
    "rollout": 12,
    "evaluation": 6,
    "validation": 5,
    "prediction-tests": 5,
}
LLM_KINDS = {"llm-evaluation": 70, "rollout": 25, "llm-tuning": 5}
GLOBAL_KINDS = {"llm-routing": 60, "backup": 20, "llm-comparison": 10, "llm-selection": 10}
TABLES = (
    "models", "model_versions", "runs", "events", "deployments", "rollouts", "alerts",
    "routing_tables", "usage",
)  # fmt: skip
STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a datetime in SQLite


def _env(home: Path, src: Path = ROOT / "src") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MODELWARD_DB_URL",)}
    env.update(PYTHONPATH=str(src), MODELWARD_HOME=str(home), COLUMNS="120")
    return env


# -- the demos' workspace: the templates ------------------------------------------------------


def demos_workspace() -> Path:
    """The workspace the two demos built (``MODELWARD_UI_BUILT``'s, else built here once)."""
    given = os.environ.get("MODELWARD_UI_BUILT")
    if given and (Path(given) / "done").exists():
        return Path(given) / "workspace"
    built = WORK / "demos"
    if not (built / "done").exists():
        shutil.rmtree(built, ignore_errors=True)
        built.mkdir(parents=True)
        env = _env(built / "workspace")
        env.pop("MODELWARD_HOME")
        for demo in ("heart-disease", "llm"):
            print(f"building the demos' workspace: examples/{demo}/demo.py", file=sys.stderr)
            with (built / f"{demo}.log").open("wb") as out:
                subprocess.run(
                    [sys.executable, str(ROOT / "examples" / demo / "demo.py"), str(built)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    check=True,
                    cwd=built,
                )
        (built / "done").write_text("")
    return built / "workspace"


class Tables:
    """Row templates (dicts of column -> stored value) read from the copied workspace."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.columns: dict[str, list[str]] = {}

    def rows(self, table: str, where: str = "1 = 1", args: tuple[Any, ...] = ()) -> list[dict]:
        cursor = self.db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", args)
        names = [d[0] for d in cursor.description]
        self.columns[table] = names
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def insert(self, table: str, rows: list[dict]) -> None:
        """Insert rows (their ``id`` chosen by the DB unless given)."""
        if not rows:
            return
        names = list(rows[0])
        marks = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        self.db.executemany(
            f"INSERT INTO {table} ({quoted}) VALUES ({marks})",
            [tuple(row[n] for n in names) for row in rows],
        )

    def next_id(self, table: str) -> int:
        return int(self.db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).strftime(STAMP)


def _times(count: int, end: datetime) -> Iterator[datetime]:
    """``count`` moments spread evenly over :data:`DAYS` days up to ``end``, ascending."""
    step = timedelta(days=DAYS) / max(count, 1)
    start = end - timedelta(days=DAYS)
    for i in range(count):
        yield start + step * i


class Grow:
    """Grows the copied demos' workspace to ``sizes`` with copies of its own rows, one
    method per table (in one transaction: :func:`fill`)."""

    def __init__(self, tables: Tables, sizes: dict[str, int]) -> None:
        self.t = tables
        self.sizes = sizes
        self.rng = random.Random(0)
        self.now = datetime.now(UTC) - timedelta(minutes=5)
        self.models = tables.rows("models")
        self.big = next(m for m in self.models if m["name"] == BIG)
        self.latest: dict[int, int] = {}  # model id -> its latest version
        self.rollout_of: dict[int, list[int]] = {}  # new rollout id -> [model id, canary]
        self.first_rollout = tables.next_id("rollouts")
        self.new_versions: list[dict] = []
        self.new_rollouts: list[dict] = []

    def copies(self, table: str, rows: list[dict]) -> None:
        """Insert ``rows`` (copies of a template, their ids left to the DB)."""
        for row in rows:
            row.pop("id", None)
        self.t.insert(table, rows)

    def owner(self) -> int:
        """A model id, :data:`BIG` 30 times as often as any other."""
        ids = list(self.latest)
        return self.rng.choices(ids, [30 if i == self.big["id"] else 1 for i in ids])[0]

    @functools.cached_property
    def llm_ids(self) -> set[int]:
        """The LLM endpoints' models (after :meth:`models_`)."""
        return {m["id"] for m in self.models if m["task"] == "text-generation"}

    def models_(self) -> list[dict]:
        """Copies of heart-disease and of an LLM endpoint's model (every third)."""
        llm_model = next(m for m in self.models if m["task"] == "text-generation")
        first = self.t.next_id("models")
        new = []
        for i in range(self.sizes["models"] - len(self.models)):
            llm = i % 3 == 2
            new.append(
                {
                    **(llm_model if llm else self.big),
                    "id": first + i,
                    "name": f"bench-{'llm' if llm else 'tab'}-{i:02d}",
                    "created_at": _stamp(self.now - timedelta(days=DAYS + 10 - i / 10)),
                }
            )
        self.t.insert("models", new)
        self.models += new
        return new

    def versions(self) -> None:
        """Half the versions heart-disease's, the rest spread; one production per model,
        the latest few in staging/testing/development, the others retired."""
        versions = self.t.rows("model_versions")
        tabular = next(v for v in versions if v["model_id"] == self.big["id"])
        endpoints = [v for v in versions if v["kind"] == "endpoint"]
        llm_ids = self.llm_ids
        have = {m["id"]: sum(1 for v in versions if v["model_id"] == m["id"]) for m in self.models}
        counts = dict(have)
        extra = self.sizes["versions"] - len(versions)
        half = extra // 2 - counts[self.big["id"]]
        counts[self.big["id"]] += half
        others = [m for m in counts if m != self.big["id"]]
        for i in range(extra - half):
            counts[others[i % len(others)]] += 1
        in_production = {v["model_id"] for v in versions if v["stage"] == "production"}
        for model_id, total in counts.items():
            times = list(_times(total - have[model_id], self.now - timedelta(days=2)))
            for k, version in enumerate(range(have[model_id] + 1, total + 1)):
                stage = "retired"
                if version == total and model_id not in in_production:
                    stage = "production"
                elif version >= total - 2:
                    stage = self.rng.choice(["staging", "testing", "development"])
                source = self.rng.choice(endpoints) if model_id in llm_ids else tabular
                self.new_versions.append(
                    {
                        **source,
                        "model_id": model_id,
                        "version": version,
                        "stage": stage,
                        "created_at": _stamp(times[k]),
                    }
                )
        self.copies("model_versions", [dict(v) for v in self.new_versions])
        self.latest = counts

    def deployments(self, new_models: list[dict]) -> None:
        """Production (and staging, every other model) of each new model."""
        template = self.t.rows("deployments")[0]
        rows = []
        for m in new_models:
            for env in ("production", "staging")[: 2 if m["id"] % 2 else 1]:
                version = self.latest[m["id"]] - (0 if env == "production" else 1)
                rows.append(
                    {
                        **template,
                        "model_id": m["id"],
                        "environment": env,
                        "targets": json.dumps([{"version": version, "weight": 100.0}]),
                        "revision": self.rng.randint(1, 40),
                        "updated_at": _stamp(self.now - timedelta(days=1)),
                    }
                )
        self.copies("deployments", rows)

    def runs(self) -> None:
        """The runs, by kind (:data:`TABULAR_KINDS`...), copies of the demos' real ones;
        ``decisions`` of them the long rollout's (the first new rollout, heart-disease's)."""
        templates: dict[str, list[dict]] = {}
        for run in self.t.rows("runs"):
            templates.setdefault(run["kind"], []).append(run)
        want = self.sizes["runs"] - sum(len(v) for v in templates.values())
        long_slots = set(self.rng.sample(range(want), min(self.sizes["decisions"], want)))
        rows = []
        for n, moment in enumerate(_times(want, self.now)):
            kind, model_id, rollout_id = self._kind(n in long_slots)
            source = self.rng.choice(templates.get(kind) or templates["rollout"])
            version = None
            if model_id is not None:
                version = self.rng.randint(
                    max(1, self.latest[model_id] - 20), self.latest[model_id]
                )
            inputs = source["inputs"]
            if kind == "rollout":
                self.rollout_of.setdefault(rollout_id, [model_id or self.big["id"], version or 1])
                model_id, version = self.rollout_of[rollout_id]
                inputs = json.dumps({**json.loads(inputs), "rollout": rollout_id})
            rows.append(
                {
                    **source,
                    "model_id": model_id,
                    "version": version,
                    "inputs": inputs,
                    "created_at": _stamp(moment),
                }
            )
        self.copies("runs", rows)

    def _kind(self, long: bool) -> tuple[str, int | None, int]:
        """A run's kind, model (None: a workspace-wide run) and, for a decision, rollout."""
        if long:
            return "rollout", self.big["id"], self.first_rollout
        rollout_id = self.first_rollout + 1 + self.rng.randrange(self.sizes["rollouts"] - 1)
        if self.rng.random() < 0.01:
            return _choice(self.rng, GLOBAL_KINDS), None, rollout_id
        model_id = self.owner()
        table = LLM_KINDS if model_id in self.llm_ids else TABULAR_KINDS
        return _choice(self.rng, table), model_id, rollout_id

    def rollouts(self) -> None:
        """The runs' rollouts: a few running (where their model has none live), the others
        ended; the long one first."""
        existing = self.t.rows("rollouts")
        live = {
            (r["model_id"], r["environment"])
            for r in existing
            if r["state"] in ("running", "paused")
        }
        template = next(r for r in existing if r["model_id"] == self.big["id"])
        count = self.sizes["rollouts"]
        for k, rollout_id in enumerate(range(self.first_rollout, self.first_rollout + count)):
            model_id, canary = self.rollout_of.get(
                rollout_id, [self.big["id"], self.latest[self.big["id"]]]
            )
            state = self.rng.choice(["promoted", "rolled-back", "aborted", "promoted"])
            if (k == 0 or k % 40 == 39) and (model_id, "production") not in live:
                state = "running"
                live.add((model_id, "production"))
            start = self.now - timedelta(days=DAYS * (1 - k / count))
            self.new_rollouts.append(
                {
                    **template,
                    "id": rollout_id,
                    "model_id": model_id,
                    "canary_version": canary,
                    "stable_version": max(1, canary - 1),
                    "state": state,
                    "stage_index": 1,
                    "stage_started_at": _stamp(start),
                    "created_at": _stamp(start),
                    "updated_at": _stamp(start + timedelta(hours=3)),
                }
            )
        self.t.insert("rollouts", self.new_rollouts)

    def events(self) -> None:
        """History: each new version's registration and two transitions, each rollout's
        start, stage, end and the deployment changes they made."""
        kinds: dict[str, dict] = {}
        for event in self.t.rows("events"):
            kinds.setdefault(event["kind"], event)
        rows = []
        for v in self.new_versions:
            created = datetime.strptime(v["created_at"], STAMP)
            step = {"model_id": v["model_id"], "version": v["version"]}
            rows.append({**kinds["registered"], **step, "created_at": v["created_at"]})
            for hop, (a, b) in enumerate([("development", "testing"), ("testing", v["stage"])]):
                moment = _stamp(created + timedelta(hours=hop + 1))
                rows.append(
                    {**kinds["transition"], **step, "from_stage": a, "to_stage": b,
                     "created_at": moment}
                )  # fmt: skip
        for r in self.new_rollouts:
            step = {"model_id": r["model_id"], "version": r["canary_version"]}
            start = datetime.strptime(r["created_at"], STAMP)
            for hop, kind in enumerate(
                ["rollout-started", "deployment-targets", "rollout-advanced",
                 "deployment-targets", "rollout-promoted", "deployment-targets"]
            ):  # fmt: skip
                moment = _stamp(start + timedelta(minutes=30 * hop))
                rows.append({**kinds[kind], **step, "created_at": moment})
        rows.sort(key=lambda e: e["created_at"])
        self.copies("events", rows)

    def alerts(self) -> None:
        """Alerts over the :data:`DAYS` days, the latest ``open_alerts`` unresolved."""
        templates = self.t.rows("alerts")
        count = self.sizes["alerts"]
        rows = []
        for i, moment in enumerate(_times(count, self.now)):
            resolved = (
                None if i >= count - self.sizes["open_alerts"] else moment + timedelta(hours=5)
            )
            rows.append(
                {
                    **templates[i % len(templates)],
                    "fingerprint": f"{i:064x}",
                    "model_id": self.owner(),
                    "first_at": _stamp(moment),
                    "last_at": _stamp(moment + timedelta(hours=1)),
                    "count": self.rng.randint(1, 30),
                    "resolved_at": None if resolved is None else _stamp(resolved),
                }
            )
        self.copies("alerts", rows)

    def routing(self) -> None:
        """Routing revisions of production (counting on from the demos') and staging."""
        existing = self.t.rows("routing_tables")
        top = {"production": max(r["revision"] for r in existing), "staging": 0}
        rows = []
        for i, moment in enumerate(_times(self.sizes["routing"], self.now - timedelta(days=1))):
            env = "staging" if i % 6 == 5 else "production"
            top[env] += 1
            rows.append(
                {
                    **existing[-1],
                    "environment": env,
                    "revision": top[env],
                    "reason": f"bench revision {i}",
                    "created_at": _stamp(moment),
                }
            )
        self.copies("routing_tables", rows)

    def usage(self) -> None:
        """A year of days: each LLM model's latest version, five API keys."""
        template = self.t.rows("usage")[0]
        names = {m["id"]: m["name"] for m in self.models}
        rows = []
        for back in range(1, 366):
            day = (self.now.date() - timedelta(days=back)).isoformat()
            for model_id in sorted(self.llm_ids):
                for key in ("-", "web", "batch", "support", "search"):
                    requests = self.rng.randint(10, 5000)
                    rows.append(
                        {
                            **template,
                            "day": day,
                            "api_key": key,
                            "model": names[model_id],
                            "version": self.latest[model_id],
                            "requests": requests,
                            "input_tokens": requests * 20,
                            "output_tokens": requests * 90,
                            "cost": requests * 5.5e-6,
                        }
                    )
        self.copies("usage", rows)


def _choice(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def fill(db_path: Path, sizes: dict[str, int]) -> dict[str, int]:
    """Grow the copied demos' workspace to ``sizes`` (one transaction); the tables' rows."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN")
    grow = Grow(Tables(db), sizes)
    new_models = grow.models_()
    grow.versions()
    grow.deployments(new_models)
    grow.runs()
    grow.rollouts()
    grow.events()
    grow.alerts()
    grow.routing()
    grow.usage()
    db.execute("COMMIT")  # no ANALYZE: modelward never runs one, so the planner has no stats
    counted = {
        table: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]) for table in TABLES
    }
    db.close()
    return counted


def write_log(logs: Path, rows: int, features: dict[str, str]) -> int:
    """``rows`` predictions of :data:`BIG` over 10 days, in the server's layout; bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modelward.predlog.compact import ROW_GROUP_ROWS
    from modelward.predlog.layout import PREDICTIONS, arrow_schema, parquet_options, partition

    schema = arrow_schema(PREDICTIONS, features)
    rng = np.random.default_rng(0)
    days = 10
    per_day = rows // days
    chunk = 1_000_000
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    size = 0
    for d in range(days):
        day = end - timedelta(days=days - d)
        folder = logs / partition(PREDICTIONS, BIG, day.date().isoformat())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "compacted-bench.parquet"
        writer = None
        done = 0
        while done < per_day:
            n = min(chunk, per_day - done)
            step = 86_400_000_000 // per_day
            ts = int(day.timestamp() * 1e6) + (np.arange(done, done + n) * step)
            score = rng.random(n)
            columns: dict[str, Any] = {
                "request_id": _request_ids(rng, n),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "version": np.ones(n, "int64"),
                "environment": np.full(n, "production", object),
                "status": np.full(n, "ok", object),
                "latency_ms": rng.gamma(2.0, 3.0, n),
                "prediction": np.where(score >= 0.5, "1", "0").astype(object),
                "score": score,
                "client": np.full(n, "-", object),
            }
            for name, type_ in features.items():
                columns[name] = (
                    rng.normal(50, 10, n) if type_ == "float64" else rng.integers(0, 4, n)
                )
            arrays = [
                pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type)
                for f in schema
            ]
            table = pa.Table.from_arrays(arrays, schema=schema)
            if writer is None:
                writer = pq.ParquetWriter(path, schema, **parquet_options(table))
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            done += n
        assert writer is not None
        writer.close()
        size += path.stat().st_size
    return size


def _request_ids(rng: Any, n: int) -> Any:
    """``n`` random 32-digit hex ids (the server's uuid4 hex), made without a Python loop."""
    import numpy as np
    import pyarrow as pa

    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    text = np.empty((n, 32), dtype=np.uint8)
    text[:, 0::2] = digits[raw >> 4]
    text[:, 1::2] = digits[raw & 15]
    return pa.array(text.view("S32").ravel(), pa.binary()).cast(pa.string())


def build(home: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """Copy the demos' workspace to ``home`` and grow it; its sizes and the build's time."""
    start = time.perf_counter()
    source = demos_workspace()
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, home)
    copied = time.perf_counter()
    tables = fill(home / "modelward.db", sizes)
    filled = time.perf_counter()
    schema = json.loads(
        sqlite3.connect(home / "modelward.db")
        .execute(
            "SELECT v.input_schema FROM model_versions v JOIN models m ON v.model_id = m.id "
            "WHERE m.name = ? ORDER BY v.version LIMIT 1",
            (BIG,),
        )
        .fetchone()[0]
    )
    features = _features(schema)
    log_bytes = write_log(home / "logs", sizes["log_rows"], features)
    done = time.perf_counter()
    info = {
        "tables": tables,
        "log_rows": sizes["log_rows"],
        "log_mb": round(log_bytes / 1e6, 1),
        "db_mb": round((home / "modelward.db").stat().st_size / 1e6, 1),
        "build_s": {
            "copy": round(copied - start, 1),
            "sql": round(filled - copied, 1),
            "log": round(done - filled, 1),
            "total": round(done - start, 1),
        },
    }
    (home.parent / "built.json").write_text(json.dumps(info))
    return info


def _features(schema: Any) -> dict[str, str]:
    from modelward.predlog.layout import FEATURE_PREFIX, feature_type

    fields = schema.get("columns") if isinstance(schema, dict) else None
    out = {}
    for item in fields or []:
        out[FEATURE_PREFIX + item["name"]] = feature_type(item.get("kind", "float"))
    return out


# -- the pages ---------------------------------------------------------------------------


def serve(home: Path, log: Path, src: Path) -> tuple[subprocess.Popen, str]:
    """``modelward serve --port 0`` on ``home`` (``src``'s modelward); the process and its
    base URL."""
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=_env(home, src),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://[^\s\"]+)", log.read_text(errors="replace"))
        if found:
            return proc, found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"modelward serve did not start:\n{log.read_text(errors='replace')}")


def targets(home: Path) -> dict[str, str]:
    """Real values for the pages' path parameters: the big model, its latest version, the
    rollout with most decisions, its latest drift run, a model card's file."""
    db = sqlite3.connect(f"file:{home / 'modelward.db'}?mode=ro", uri=True)

    def one(sql: str, *args: Any) -> Any:
        return db.execute(sql, args).fetchone()[0]

    model_id = one("SELECT id FROM models WHERE name = ?", BIG)
    latest = one("SELECT MAX(version) FROM model_versions WHERE model_id = ?", model_id)
    rollout = one(
        "SELECT json_extract(inputs, '$.rollout') FROM runs WHERE kind = 'rollout' "
        "GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
    )
    run = one("SELECT MAX(id) FROM runs WHERE model_id = ? AND kind = 'monitor-drift'", model_id)
    db.close()
    cards = sorted(p.name for p in (home / "reports" / "cards").glob(f"{BIG}-v*.html"))
    reports = sorted(p.name for p in (home / "reports").glob(f"{BIG}-*.html"))
    values = {
        "name": BIG,
        "model": BIG,
        "version": str(latest),
        "v": str(latest),
        "/rollouts/": str(rollout),
        "/runs/": str(run),
        "/alerts/": "1",
        "/model-cards/": cards[-1] if cards else "",
        "/documents/": reports[-1] if reports else "",
    }
    values["query:/compare"] = f"?a={latest - 1}&b={latest}"
    return values


def page_paths(values: dict[str, str]) -> tuple[list[str], list[str]]:
    """The URLs (under /ui) of the GET pages the dashboard serves (``PAGES``), their path
    parameters filled, a deep page (``?page=20``) of those about one record beside them;
    and the page modules without routes yet."""
    import importlib
    import pkgutil

    import modelward.ui.pages as pages
    from modelward.ui.pages import PAGES

    empty = []
    for found in pkgutil.iter_modules(pages.__path__):
        module = importlib.import_module(f"modelward.ui.pages.{found.name}")
        if not getattr(module, "ROUTES", None):
            empty.append(found.name)
    paths = []
    for route in PAGES:
        if route.action:
            continue
        path = _filled(route.path, values)
        if path is None:
            print(f"left out {route.path}: the workspace has no file for it", file=sys.stderr)
            continue
        paths.append(path)
        if "{" in route.path and "?" not in path and not path.startswith("/ui/documents/"):
            paths.append(path + "?page=20")
    return paths, empty


def _filled(path: str, values: dict[str, str]) -> str | None:
    """``path`` with each ``{parameter}`` a real value (None: no value for it here)."""
    missing = []

    def value(match: re.Match[str]) -> str:
        key = match.group(1).split(":")[0]
        for prefix in ("/model-cards/", "/documents/", "/rollouts/", "/runs/", "/alerts/"):
            if path.startswith(prefix):  # {id} / {name} of a record other than a model
                missing.extend([] if values[prefix] else [key])
                return values[prefix]
        if key not in values:
            raise SystemExit(f"no value for {{{key}}} in {path}: add it to targets()")
        return values[key]

    filled = re.sub(r"\{([^}]+)\}", value, path)
    if missing:
        return None
    for key, query in values.items():
        if key.startswith("query:") and filled.endswith(key.removeprefix("query:")):
            filled += query
    return "/ui" + filled


def cpu_ns(pid: int) -> int:
    """CPU time the process's threads have used (ns; Linux ``schedstat``, 0 elsewhere)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended
    except OSError:
        return 0
    return total


def measure(url: str, paths: list[str], requests: int, pid: int) -> dict[str, dict[str, Any]]:
    """Each page ``requests`` times in turn (after a warm-up) over one keep-alive client:
    the wall times the client saw, and the server's CPU time per request (all its threads:
    on a busy machine wall time grows with the queue for a core, CPU time much less)."""
    import httpx

    seen: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    status: dict[str, set[int]] = {p: set() for p in paths}
    with httpx.Client(base_url=url, timeout=60) as client:
        for path in paths:
            for _ in range(3):
                client.get(path)
        for _ in range(requests):
            for path in paths:
                used = cpu_ns(pid)
                start = time.perf_counter()
                response = client.get(path)
                _ = response.content
                seen[path].append((time.perf_counter() - start) * 1000)
                cpu[path].append((cpu_ns(pid) - used) / 1e6)
                status[path].add(response.status_code)
    out = {}
    for path, times in seen.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        out[path] = {
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(p95, 1),
            "max_ms": round(ordered[-1], 1),
            "cpu_ms": round(statistics.median(cpu[path]), 1),
            "status": sorted(status[path]),
        }
    return out


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the workspace")
    parser.add_argument("--requests", type=int, default=30, help="requests of each page")
    parser.add_argument("--reuse", action="store_true", help="the workspace built before")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--src", type=Path, default=ROOT / "src", help="serve another checkout's src (A/B)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.src.resolve()))  # the pages listed are those served
    sizes = dict(SIZES)
    if args.quick:
        sizes = {k: max(1, v // 10) for k, v in SIZES.items()}
        sizes.update(models=SIZES["models"], log_rows=SIZES["log_rows"] // 100)
    home = WORK / ("quick" if args.quick else "full") / "workspace"
    built = home.parent / "built.json"
    if args.reuse and built.exists():
        info = json.loads(built.read_text())
        print("reusing the workspace built before", file=sys.stderr)
    else:
        print(f"building the workspace (load {_load()})...", file=sys.stderr)
        info = build(home, sizes)
    tables = info["tables"]
    print(
        "workspace: "
        + ", ".join(f"{v:,} {k}" for k, v in tables.items())
        + f"; prediction log {info['log_rows']:,} rows ({info['log_mb']} MB); "
        f"DB {info['db_mb']} MB; built in {info['build_s']['total']} s "
        f"(copy {info['build_s']['copy']}, SQL {info['build_s']['sql']}, "
        f"log {info['build_s']['log']})",
        file=sys.stderr,
    )
    paths, empty = page_paths(targets(home))
    if empty:
        print(f"no routes yet (left out): {', '.join(empty)}", file=sys.stderr)
    proc, url = serve(home, home.parent / "serve.log", args.src.resolve())
    try:
        before = _load()
        figures = measure(url, paths, args.requests, proc.pid)
        after = _load()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(
        f"load average {before} before, {after} after, on {os.cpu_count()} cores; "
        f"{args.requests} requests of each page, in turn, after 3 warm-ups",
        file=sys.stderr,
    )
    missed = 0
    for path, row in figures.items():
        ok = row["p95_ms"] < TARGET_MS and row["status"] == [200]
        missed += not ok
        line = (
            f"{path:60} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
            f"max {row['max_ms']:7.1f} ms  server CPU {row['cpu_ms']:6.1f} ms  "
            f"{'ok' if ok else 'MISS'}"
        )
        if row["status"] != [200]:
            line += f"  status {row['status']}"
        print(line, file=sys.stderr)
    print(
        f"{len(figures) - missed} of {len(figures)} pages under {TARGET_MS:.0f} ms p95",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps({"workspace": info, "load": [before, after], "pages": figures}))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

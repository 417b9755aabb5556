"""``modelward verify`` and ``modelward benchmark`` against a live server."""

from __future__ import annotations

import pytest

from .conftest import set_policy

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the DB is not what is judged
def test_verify_replays_held_out_rows_and_records_a_pass(live, cli, cleveland_csv):
    ran = cli("verify", "heart", "--env", "production", "--cases", cleveland_csv, "--url", live.url)
    assert ran.exit_code == 0, ran.stderr
    assert "rows equal offline" in ran.stdout
    run = live.ws.registry.list_runs(model="heart", kinds=["verification"])[0]
    assert run.verdict == "pass" and run.results["answered"] == run.results["rows"] > 100
    assert run.results["max_probability_gap"] <= 1e-4


def test_verify_with_synthetic_rows_as_json(live, cli):
    ran = cli("verify", "heart", "--env", "production", "--url", live.url, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["versions"] == {"1": 50} and ran.json["mismatches"] == 0


def test_verify_fails_with_exit_1_when_latency_is_over_policy(live, cli):
    set_policy(live.ws, "serving", "latency", {"p95_ms": 0.001, "p99_ms": 0.002})
    ran = cli("verify", "heart", "--env", "production", "--url", live.url)
    assert ran.exit_code == 1
    assert "p95 latency" in ran.stderr and "policy serving.latency.p95_ms" in ran.stderr
    run = live.ws.registry.list_runs(model="heart", kinds=["verification"])[0]
    assert run.verdict == "fail"


def test_verify_mistakes_exit_2(deployed, cli, tmp_path):
    bad = tmp_path / "cases.csv"
    bad.write_text("age,sex\n50,1\n")
    cases = [
        (["--env", "production", "--url", "http://127.0.0.1:9"], "cannot reach the server"),
        (["--env", "staging"], "not deployed to staging"),
        (["--env", "qa"], "unknown environment 'qa'"),
        (["--env", "production", "--cases", bad], "lacks the model's input column(s) cp"),
    ]
    for args, text in cases:
        ran = cli("verify", "heart", *args)
        assert ran.exit_code == 2, (args, ran.stderr)
        assert text in ran.stderr and ran.stderr.count("\n") == 1
    assert deployed.registry.list_runs(kinds=["verification"]) == []


def test_benchmark_reports_each_scenario(live, cli):
    ran = cli(
        "benchmark", "heart", "--url", live.url, "--scenarios", "single,batch,concurrent",
        "--duration", "1s", "--batch-size", "20", "--connections", "4", "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    results = ran.json
    assert set(results) == {"single", "batch", "concurrent"}
    for scenario in results.values():
        assert scenario["requests"] > 0 and scenario["errors"] == 0
        assert scenario["p50_ms"] <= scenario["p95_ms"] <= scenario["p99_ms"]
    batch = results["batch"]
    assert batch["rows_per_s"] == pytest.approx(batch["requests_per_s"] * 20, rel=0.01)
    assert results["concurrent"]["connections"] == 4


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--scenarios", "burst"], "unknown scenario 'burst'"),
        (["--duration", "soon"], "is not a duration"),
        (["--duration", "0s"], "--duration must be more than 0s"),
        (["--url", "ftp://x"], "must be an http:// URL"),
        (["--url", "http://127.0.0.1:9", "--duration", "1s"], "cannot reach the server"),
    ],
)
def test_benchmark_mistakes_exit_2(deployed, cli, args, text):
    ran = cli("benchmark", "heart", *args)
    assert ran.exit_code == 2, ran.stderr
    assert text in ran.stderr and ran.stderr.count("\n") == 1

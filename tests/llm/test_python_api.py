"""The fleet from Python: ws.llm does what the commands do."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sqlite_only


def test_python_api_runs_the_runbook(fleet, dataset):
    (good, slow) = fleet.llm.evaluate(["good", "slow"], dataset)
    assert good.verdict == "pass" and good.run_id is not None
    assert fleet.llm.health(["openai"])[0]["ok"]
    selection = fleet.llm.select(dataset, refs=["good", "slow"], apply=True)
    assert selection.applied.revision == 1
    assert fleet.llm.routes().models_for("factual")[0] == "good:1"
    tuned = fleet.llm.tune("good", dataset, "max_tokens", grid=["max_tokens=1,64"])
    assert tuned.best["params"]["max_tokens"] == 64  # 1 token truncates every answer
    plan = fleet.llm.optimize_cost(budget=100, volume=1000)
    assert {s["strategy"] for s in plan.strategies} >= {"current", "cheaper-model", "caching"}
    assert fleet.llm.alerts() == []


def test_compare_from_python_is_recorded_as_the_command_records_it(fleet, dataset):
    comparison = fleet.llm.compare(["good", "cheap"], dataset)
    pair = comparison.paired["pairs"][0]
    assert comparison.paired["baseline"] == "good:1" and pair["model"] == "cheap:1"
    assert [r["model"] for r in comparison.rankings["factual"]][0] == "good:1"
    (run,) = fleet.registry.list_runs(kinds=["llm-comparison"])
    assert run.id == comparison.run_id
    assert run.inputs["models"] == ["good", "cheap"]
    assert run.results["paired"] == comparison.paired


def test_routes_usage_and_history_from_python(fleet):
    first = fleet.llm.set_route("factual", ["good", "slow"], reason="by hand")
    fleet.llm.set_route("factual", ["slow"], reason="swap", canary="good", weight=10)
    assert fleet.llm.routes().routes["factual"]["canary"] == {"model": "good:1", "weight": 10}
    reverted = fleet.llm.revert_routes(first.revision, reason="back")
    assert fleet.llm.routes(first.revision).routes == reverted.routes
    assert [r.revision for r in fleet.llm.route_history()] == [1, 2, 3]
    usage = fleet.llm.usage(days=7)
    assert usage["usage"] == [] and usage["month_spend"] == 0

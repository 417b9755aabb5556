"""The fleet from Python: ws.llm does what the commands do."""

from __future__ import annotations


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

"""``modelward llm optimize-cost|usage|alerts``: what the fleet costs, and its alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, satisfaction_table, table
from modelward.errors import CheckFailed


@calls("Workspace.llm.optimize_cost")
def optimize_cost_cmd(
    budget: Annotated[float, typer.Option("--budget", help="Monthly budget in dollars.")],
    volume: Annotated[
        int | None, typer.Option(help="Queries per month (default: last 30 days of usage).")
    ] = None,
    cache_hit_rate: Annotated[
        float | None, typer.Option(help="Expected cache hit rate (default: measured).")
    ] = None,
    batch_share: Annotated[
        float, typer.Option(help="Share of traffic that can use batch APIs (0-1).")
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """The runbook's cost strategies with projected monthly cost and quality."""
    plan = (
        state()
        .workspace()
        .llm.optimize_cost(
            budget=budget, volume=volume, cache_hit_rate=cache_hit_rate, batch_share=batch_share
        )
    )
    if as_json:
        print_json(plan.to_dict())
    else:
        rows = [
            (
                s["strategy"],
                s["monthly_cost"],
                s["quality"],
                "yes" if s["within_budget"] else "no",
                s["detail"],
            )
            for s in plan.strategies
        ]
        console.print(
            table(
                ("strategy", "projected $/month", "accuracy", "within budget", "how"),
                rows,
                title=f"{plan.volume} queries/month, budget ${plan.budget:g}",
            )
        )
    if not plan.within_budget:
        cheapest = min(plan.strategies, key=lambda s: s["monthly_cost"])
        raise CheckFailed(
            f"no strategy fits the budget ${budget:g}; the cheapest "
            f"({cheapest['strategy']}) projects ${cheapest['monthly_cost']:.2f}"
        )


@calls("Workspace.llm.usage")
def usage_cmd(
    days: Annotated[int, typer.Option(help="Look back this many days.", min=1)] = 30,
    as_json: JsonOption = False,
) -> None:
    """Spend, tokens and user satisfaction per model version.

    Requests, tokens and spend per model version and API key; the users' ratings of the
    answers (mean satisfaction 0..1, and how many a person marked correct) per version and
    query type."""
    usage = state().workspace().llm.usage(days)
    if as_json:
        print_json(usage)
        return
    console.print(
        table(
            (
                "model",
                "version",
                "key",
                "requests",
                "errors",
                "cache hits",
                "input tokens",
                "output tokens",
                "cost $",
            ),
            [tuple(r.values()) for r in usage["usage"]],
        )
    )
    if usage["satisfaction"]:
        console.print(satisfaction_table(usage["satisfaction"]))
    console.print(f"This month: ${usage['month_spend']:.6f} of ${usage['monthly_budget']:g}")


@calls("Workspace.llm.alerts")
def alerts_cmd(as_json: JsonOption = False) -> None:
    """Budget, cost-increase, error-rate and response-time alerts; exit 1 on a critical."""
    alerts = state().workspace().llm.alerts()
    if as_json:
        print_json(alerts)
    elif alerts:
        console.print(
            table(
                ("level", "check", "message"),
                [(a["level"], a["check"], a["message"]) for a in alerts],
            )
        )
    else:
        console.print("No LLM alerts.")
    critical = [a for a in alerts if a["level"] == "critical"]
    if critical:
        raise CheckFailed("; ".join(a["message"] for a in critical))


def register(llm_app: typer.Typer) -> None:
    llm_app.command("optimize-cost")(optimize_cost_cmd)
    llm_app.command("usage")(usage_cmd)
    llm_app.command("alerts")(alerts_cmd)

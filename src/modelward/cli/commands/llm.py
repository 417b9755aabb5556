"""``modelward llm …``: the LLM fleet — providers, endpoint models, evaluation, comparison,
selection, routing, tuning, cost, the fake providers and the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelward.cli.app import new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.present import fmt, fmt_time

if TYPE_CHECKING:
    from modelward.llm.evaluate import Evaluation
    from modelward.llm.types import Item

llm_app = new_typer("The LLM fleet: providers, endpoint models, evaluation, routing, gateway.")
routes_app = new_typer("The routing table: query type -> ranked models.")
config_app = new_typer("The LLM config (llm.yml): providers and prices.")

DatasetOption = Annotated[Path, typer.Option("--dataset", help="Evaluation dataset (JSONL).")]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", help="Calls in flight at once per run.")
]


def _models(value: str | None) -> list[str]:
    from modelward.errors import ConfigError

    refs = [m.strip() for m in (value or "").split(",") if m.strip()]
    if value is not None and not refs:
        raise ConfigError(
            "--models needs model names, e.g. --models gpt-fast,claude:2", field="models"
        )
    return refs


def _items(path: Path) -> list[Item]:
    from modelward.llm.dataset import load_dataset

    return load_dataset(path)


def _progress() -> Any:
    from modelward.cli.output import RichProgress

    return RichProgress()


# -- registry -----------------------------------------------------------------------------


@llm_app.command("register")
def register_cmd(
    name: Annotated[str, typer.Argument(help="Model name (lowercase letters, digits, -_.).")],
    provider: Annotated[str, typer.Option("--provider", help="A provider from llm.yml.")],
    model: Annotated[str, typer.Option("--model", help="The provider's model id.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="k=v, repeatable (temperature=0.2).")
    ] = None,
    prompt: Annotated[
        Path | None, typer.Option("--prompt", help="Prompt template file with {input}.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the endpoint is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register an LLM endpoint (provider + model id + params + prompt) as a new version."""
    from modelward.cli.commands.registry import parse_pairs

    params = parse_pairs(param, what="--param")
    info = (
        state()
        .workspace()
        .llm.register(
            name,
            provider=provider,
            model=model,
            params=params,
            prompt=prompt,
            description=description,
        )
    )
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"Registered {info.ref} ({provider}/{model}) in {info.stage}")


@llm_app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """Every endpoint version: provider, model id, params, stage."""
    versions = state().workspace().llm.endpoints()
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    rows = [
        (
            v.ref,
            v.spec.get("provider"),
            v.spec.get("model"),
            ", ".join(f"{k}={x}" for k, x in v.params.items()),
            v.stage,
            "yes" if v.spec.get("prompt_template") else "",
        )
        for v in versions
    ]
    console.print(
        table(("model", "provider", "model id", "params", "stage", "template"), rows)
        if rows
        else "No endpoint models yet: `modelward llm register`."
    )


# -- health -------------------------------------------------------------------------------


@llm_app.command("health")
def health_cmd(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only these providers (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Each provider's model list and latency; exit 1 when a required one is missing."""
    from modelward.errors import CheckFailed
    from modelward.llm.health import health

    results = health(state().workspace(), provider)
    if as_json:
        print_json(results)
    else:
        rows = [
            (
                r["provider"],
                r["kind"],
                r["status"],
                r["latency_ms"],
                len(r["models"]),
                ", ".join(r["missing"]),
                r["error"] or "",
            )
            for r in results
        ]
        console.print(
            table(("provider", "kind", "status", "latency ms", "models", "missing", "error"), rows)
        )
    failed = [r for r in results if not r["ok"]]
    if failed:
        detail = "; ".join(
            f"{r['provider']}: "
            + (f"missing {', '.join(r['missing'])}" if r["missing"] else str(r["error"]))
            for r in failed
        )
        raise CheckFailed(f"provider health: {detail}")


# -- evaluation ---------------------------------------------------------------------------


def _eval_table(evaluations: list[Evaluation]) -> Any:
    def ci(value: dict[str, Any]) -> str:
        if value.get("value") is None:
            return ""
        if value.get("low") is None:
            return fmt(value["value"])
        return f"{fmt(value['value'])} [{fmt(value['low'], 3)}, {fmt(value['high'], 3)}]"

    rows = []
    for e in evaluations:
        m = e.metrics
        rows.append(
            (
                e.ref,
                ci(m["accuracy"]),
                ci(m["response_time"]["mean"]),
                m["response_time"]["median"],
                ci(m["response_time"]["p95"]),
                m["response_time"]["p99"],
                m["cost"]["total"],
                ci(m["cost"]["per_query"]),
                m["cost"]["per_token"],
                ci(m["relevance"]),
                ci(m["coherence"]),
                ci(m["error_rate"]),
                e.verdict,
            )
        )
    return table(
        (
            "model",
            "accuracy [95% CI]",
            "mean s",
            "median s",
            "p95 s",
            "p99 s",
            "cost $",
            "$/query",
            "$/token",
            "relevance",
            "coherence",
            "error rate",
            "verdict",
        ),
        rows,
    )


def _category_table(evaluations: list[Evaluation]) -> Any:
    rows = []
    for e in evaluations:
        for category, m in e.by_category.items():
            rows.append(
                (
                    e.ref,
                    category,
                    m["items"],
                    m["accuracy"]["value"],
                    m["response_time"]["p95"]["value"],
                    m["cost"]["per_query"]["value"],
                )
            )
    return table(
        ("model", "category", "items", "accuracy", "p95 s", "$/query"), rows, title="per category"
    )


def _fail_on(evaluations: list[Evaluation]) -> None:
    from modelward.errors import CheckFailed

    failures = [
        f"{e.ref} {c['check']} {fmt(c['value'])} vs limit {fmt(c['limit'])}"
        for e in evaluations
        for c in e.checks
        if not c["passed"]
    ]
    if failures:
        more = f" (+{len(failures) - 3} more)" if len(failures) > 3 else ""
        raise CheckFailed("; ".join(failures[:3]) + more)


@llm_app.command("evaluate")
def evaluate_cmd(
    models: Annotated[str, typer.Option("--models", help="Comma-separated models (name[:ver]).")],
    dataset: DatasetOption,
    concurrency: ConcurrencyOption = 4,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call the providers even for cached answers.")
    ] = False,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Endpoint model for the judge scorer.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="At most this many provider calls a second.")
    ] = None,
    items: Annotated[bool, typer.Option("--items", help="With --json: every item too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Evaluate models on a dataset: accuracy per category, latency, cost, with CIs."""
    from modelward.llm.evaluate import evaluate

    refs = _models(models)
    data = _items(dataset)
    ws = state().workspace()
    with _progress() as progress:
        results = evaluate(
            ws,
            refs,
            data,
            concurrency=concurrency,
            rate=rate,
            use_cache=not no_cache,
            judge=judge,
            dataset=str(dataset),
            progress=progress,
        )
    if as_json:
        print_json([e.to_dict(items=items) for e in results])
    else:
        console.print(_eval_table(results))
        console.print(_category_table(results))
    _fail_on(results)


@llm_app.command("compare")
def compare_cmd(
    models: Annotated[str, typer.Option("--models", help="Comma-separated, first = baseline.")],
    dataset: DatasetOption,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Models side by side with CIs, paired tests on the same items, ranking per type."""
    from modelward.errors import ConfigError
    from modelward.llm.evaluate import evaluate
    from modelward.llm.ranking import compare, rank

    refs = _models(models)
    if len(refs) < 2:
        raise ConfigError("compare needs at least two models: --models a,b", field="models")
    data = _items(dataset)
    ws = state().workspace()
    with _progress() as progress:
        results = evaluate(
            ws, refs, data, concurrency=concurrency, dataset=str(dataset), progress=progress
        )
    paired = compare(results)
    rankings = {q: rank(ws, results, q) for q in sorted({i.category for i in data})}
    ws.registry.record_run(
        "llm-comparison",
        model=None,
        version=None,
        inputs={"models": refs, "dataset": str(dataset)},
        results={"paired": paired, "rankings": rankings},
        verdict="info",
    )
    if as_json:
        print_json(
            {"evaluations": [e.to_dict() for e in results], "paired": paired, "rankings": rankings}
        )
        return
    console.print(_eval_table(results))
    rows = []
    for pair in paired["pairs"]:
        acc, lat = pair["accuracy"], pair["response_time"] or {}
        rows.append(
            (
                f"{pair['model']} vs {paired['baseline']}",
                acc["b"],
                acc["a"],
                acc["p_value"],
                lat.get("difference"),
                lat.get("p_value"),
            )
        )
    console.print(
        table(
            ("pair", "accuracy", "baseline accuracy", "McNemar p", "Δ mean s", "bootstrap p"),
            rows,
            title="paired on the same items",
        )
    )
    _print_rankings(rankings)


def _print_rankings(rankings: dict[str, list[dict[str, Any]]]) -> None:
    rows = [
        (
            q,
            i + 1,
            r["model"],
            r["score"],
            r["accuracy"],
            r["response_time"],
            r["cost"],
            "yes" if r["eligible"] else "no: " + "; ".join(r["failed"]),
        )
        for q, ranked in rankings.items()
        for i, r in enumerate(ranked)
    ]
    console.print(
        table(
            ("query type", "rank", "model", "score", "accuracy", "mean s", "$/query", "eligible"),
            rows,
            title="ranking (policy weights)",
        )
    )


@llm_app.command("select")
def select_cmd(
    dataset: DatasetOption,
    models: Annotated[
        str | None, typer.Option("--models", help="Candidates (default: every endpoint).")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the result as a new routing revision.")
    ] = False,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Best eligible model per query type (weights and thresholds from policy)."""
    from modelward.errors import CheckFailed
    from modelward.llm.selection import select_models

    refs = _models(models) if models is not None else None
    data = _items(dataset)
    ws = state().workspace()
    with _progress() as progress:
        selection = select_models(
            ws,
            data,
            refs=refs,
            apply=apply,
            concurrency=concurrency,
            dataset=str(dataset),
            progress=progress,
        )
    if as_json:
        print_json(selection.to_dict())
    else:
        _print_rankings(selection.rankings)
        for query_type, route in selection.routes.items():
            console.print(f"{query_type}: {' → '.join(route['models'])}")
        if selection.applied:
            console.print(
                f"Routing table revision {selection.applied.revision} written "
                f"(selection run #{selection.run_id})."
            )
        elif selection.routes:
            console.print("Not applied: pass --apply to write the routing table.")
    if selection.unserved:
        raise CheckFailed(f"no model meets the thresholds for {', '.join(selection.unserved)}")


# -- routing ------------------------------------------------------------------------------


def _print_table(revision: Any) -> None:
    console.print(
        f"revision {revision.revision} · {fmt_time(revision.created_at)} · "
        f"{revision.created_by} · {revision.reason}"
    )
    rows = []
    for query_type, route in sorted(revision.routes.items()):
        canary = route.get("canary")
        rows.append(
            (
                query_type,
                " → ".join(route["models"]),
                f"{canary['model']} @ {canary['weight']:g}%" if canary else "",
            )
        )
    console.print(table(("query type", "models (first serves, rest fall back)", "canary"), rows))


@routes_app.command("show")
def routes_show(
    revision: Annotated[int | None, typer.Option(help="An older revision.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The current routing table (or one revision of it)."""
    from modelward.llm.routing import current_routes, get_revision

    ws = state().workspace()
    found = get_revision(ws, revision) if revision is not None else current_routes(ws)
    if as_json:
        print_json(found.to_dict() if found else None)
        return
    if found is None:
        console.print("No routing table yet: `modelward llm select --dataset FILE --apply`.")
        return
    _print_table(found)


@routes_app.command("set")
def routes_set(
    query_type: Annotated[str, typer.Argument(help="Query type (factual, technical, …).")],
    models: Annotated[str, typer.Option("--models", help="Ranked models, comma-separated.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded.")],
    canary: Annotated[str | None, typer.Option(help="A canary model for this type.")] = None,
    weight: Annotated[float, typer.Option(help="Canary traffic percent.")] = 5.0,
) -> None:
    """Set one query type's route by hand (a new revision)."""
    from modelward.errors import ConfigError
    from modelward.llm.routing import current_routes, save_routes

    if not reason.strip():
        raise ConfigError('pass --reason "why this route"', field="reason")
    ws = state().workspace()
    current = current_routes(ws)
    routes = dict(current.routes) if current else {}
    route: dict[str, Any] = {"models": _models(models)}
    if canary:
        route["canary"] = {"model": canary, "weight": weight}
    routes[query_type] = route
    saved = save_routes(ws, routes, reason=reason)
    console.print(f"Routing table revision {saved.revision} written.")


@llm_app.command("history")
def history_cmd(as_json: JsonOption = False) -> None:
    """Every revision of the routing table."""
    from modelward.llm.routing import routing_history

    revisions = routing_history(state().workspace())
    if as_json:
        print_json([r.to_dict() for r in revisions])
        return
    rows = [
        (
            r.revision,
            fmt_time(r.created_at),
            r.created_by,
            r.reason,
            "; ".join(f"{q}: {v['models'][0]}" for q, v in sorted(r.routes.items())),
        )
        for r in revisions
    ]
    console.print(
        table(("revision", "when", "who", "reason", "primary per type"), rows)
        if rows
        else "No routing revisions yet."
    )


@llm_app.command("revert")
def revert_cmd(
    revision: Annotated[int, typer.Argument(help="The revision to go back to.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded.")] = "",
) -> None:
    """Make an older routing revision current again (as a new revision)."""
    from modelward.llm.routing import revert_routes

    saved = revert_routes(state().workspace(), revision, reason=reason)
    console.print(f"Routing table revision {saved.revision} written (= revision {revision}).")


# -- tuning and cost ----------------------------------------------------------------------


@llm_app.command("tune")
def tune_cmd(
    model: Annotated[str, typer.Argument(help="Endpoint model (name[:version]).")],
    dataset: DatasetOption,
    params: Annotated[
        str, typer.Option("--params", help="Parameters to search: temperature,top_p,…")
    ],
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="name=v1,v2 to override a default grid.")
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", help="Optuna trials instead of the full grid.")
    ] = None,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Search parameter settings on a dataset; the best becomes a new version."""
    from modelward.llm.tuning import parse_grid, tune

    space = parse_grid(params, grid)
    data = _items(dataset)
    ws = state().workspace()
    with _progress() as progress:
        result = tune(
            ws,
            model,
            data,
            space,
            trials=trials,
            concurrency=concurrency,
            dataset=str(dataset),
            progress=progress,
        )
    if as_json:
        print_json(result.to_dict())
        return
    rows = [
        (
            ", ".join(f"{k}={v}" for k, v in t["params"].items()),
            t["accuracy"],
            t["response_time"],
            t["cost"],
        )
        for t in result.trials
    ]
    console.print(table(("params", "accuracy", "mean s", "$/query"), rows))
    best = ", ".join(f"{k}={v}" for k, v in result.best["params"].items())
    if result.version:
        console.print(f"Best: {best} → registered {result.version.ref}")
    else:
        console.print(f"Best: {best} (the current setting; no new version)")


@llm_app.command("optimize-cost")
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
    from modelward.errors import CheckFailed
    from modelward.llm.cost import optimize_cost

    plan = optimize_cost(
        state().workspace(),
        budget=budget,
        volume=volume,
        cache_hit_rate=cache_hit_rate,
        batch_share=batch_share,
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


@llm_app.command("usage")
def usage_cmd(
    days: Annotated[int, typer.Option(help="Look back this many days.", min=1)] = 30,
    as_json: JsonOption = False,
) -> None:
    """Requests, tokens and spend per model version and API key."""
    from modelward.llm.usage import month_spend, usage_summary

    ws = state().workspace()
    rows = usage_summary(ws.db, days=days)
    if as_json:
        print_json(
            {
                "usage": rows,
                "month_spend": month_spend(ws.db),
                "monthly_budget": ws.policy.llm.monthly_budget,
            }
        )
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
            [tuple(r.values()) for r in rows],
        )
    )
    console.print(f"This month: ${month_spend(ws.db):.6f} of ${ws.policy.llm.monthly_budget:g}")


@llm_app.command("alerts")
def alerts_cmd(as_json: JsonOption = False) -> None:
    """Budget, cost-increase, error-rate and response-time alerts; exit 1 on a critical."""
    from modelward.errors import CheckFailed
    from modelward.llm.alerts import check_alerts

    alerts = check_alerts(state().workspace())
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


# -- config -------------------------------------------------------------------------------


@config_app.command("show")
def config_show(as_json: JsonOption = False) -> None:
    """Providers and prices; for keys only whether their variable is set (never the key)."""
    ws = state().workspace()
    config = ws.llm.config
    providers = {
        name: {**p.model_dump(mode="json"), "api_key_set": p.api_key() is not None}
        for name, p in config.providers.items()
    }
    if as_json:
        print_json(
            {
                "path": str(ws.llm.config_path),
                "providers": providers,
                "prices": {k: v.model_dump() for k, v in config.prices.items()},
            }
        )
        return
    rows = [
        (
            n,
            p["kind"],
            p["base_url"],
            p["api_key_env"] or "",
            "set" if p["api_key_set"] else "unset",
            p["timeout_s"],
            p["max_retries"],
        )
        for n, p in providers.items()
    ]
    console.print(
        table(("provider", "kind", "base url", "key variable", "key", "timeout s", "retries"), rows)
    )
    console.print(
        table(
            ("model", "$/M input", "$/M output"),
            [(m, p.input, p.output) for m, p in config.prices.items()],
        )
    )


# -- servers ------------------------------------------------------------------------------


@llm_app.command("fake-server")
def fake_server_cmd(
    config: Annotated[
        Path | None, typer.Option("--config", help="Fake behaviour YAML (models, answers).")
    ] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", help="Learn correct answers from a dataset.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free).")] = 0,
) -> None:
    """Run FAKE LLM providers (OpenAI, Anthropic, Ollama, HF protocols) on 127.0.0.1."""
    import time

    from modelward.llm.fake import FakeServer
    from modelward.llm.fake.behaviour import load_behaviour

    behaviour = load_behaviour(config)
    if answers is not None:
        behaviour.add_answers_from(answers)
    server = FakeServer(behaviour, port=port).start()
    print(
        f"FAKE providers (not real models) on {server.url}: openai {server.openai_url} · "
        f"anthropic {server.anthropic_url} · ollama {server.ollama_url} · hf {server.hf_url}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@llm_app.command("gateway")
def gateway_cmd(
    host: Annotated[str, typer.Option(help="Interface (127.0.0.1 unless behind auth).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = 8800,
) -> None:
    """Run the OpenAI-compatible gateway (/v1/chat/completions, /v1/models)."""
    from modelward.errors import ConfigError
    from modelward.serving.run import is_loopback

    if not is_loopback(host):
        raise ConfigError(
            f"--host {host} would expose the gateway, which has no authentication of its "
            "own; bind 127.0.0.1 (put a proxy with auth in front) or mount it into "
            "`modelward serve` with tokens",
            field="host",
        )
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}", field="port")
    import uvicorn

    from modelward.llm.gateway import create_gateway_app

    app = create_gateway_app(state().workspace())
    print(f"modelward LLM gateway on http://{host}:{port}/v1", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    llm_app.add_typer(routes_app, name="routes")
    llm_app.add_typer(config_app, name="config")
    app.add_typer(llm_app, name="llm")

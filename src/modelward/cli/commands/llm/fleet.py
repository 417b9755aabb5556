"""``modelward llm register|list|health`` and ``llm config show``: the endpoint models and
the providers they call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption, parse_pairs
from modelward.cli.output import console, print_json, table
from modelward.errors import CheckFailed

config_app = new_typer("The LLM config (llm.yml): providers and prices.")


@calls("Workspace.llm.register")
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


@calls("Workspace.llm.endpoints")
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


@calls("Workspace.llm.health")
def health_cmd(
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only these providers (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Each provider's model list and latency; exit 1 when a required one is missing."""
    results = state().workspace().llm.health(provider)
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


@config_app.command("show")
@calls("Workspace.llm.config", "Workspace.llm.config_path", "Workspace.llm.shared_state")
def config_show(as_json: JsonOption = False) -> None:
    """Providers, prices and where the gateway shares budgets and its cache (Redis, its
    password masked); for keys only whether their variable is set (never the key)."""
    fleet = state().workspace().llm
    config = fleet.config
    shared = fleet.shared_state
    providers = {
        name: {**p.model_dump(mode="json"), "api_key_set": p.api_key() is not None}
        for name, p in config.providers.items()
    }
    if as_json:
        print_json(
            {
                "path": str(fleet.config_path),
                "providers": providers,
                "prices": {k: v.model_dump() for k, v in config.prices.items()},
                "shared_state": shared,
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
    if shared["redis_url"] is None:
        console.print("gateway state: in each process (no Redis URL)")
    else:
        console.print(
            f"gateway state: shared through {shared['redis_url']} (from {shared['source']}, "
            f"keys {shared['prefix']}:llm:…)",
            markup=False,
        )


def register(llm_app: typer.Typer) -> None:
    llm_app.command("register")(register_cmd)
    llm_app.command("list")(list_cmd)
    llm_app.command("health")(health_cmd)
    llm_app.add_typer(config_app, name="config")

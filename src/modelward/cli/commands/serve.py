"""``modelward serve``, ``verify`` and ``benchmark``: the prediction server and its checks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table
from modelward.errors import ConfigError


@calls("modelward.serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (beyond loopback needs tokens).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    env: Annotated[
        str,
        typer.Option("--env", "-e", help="Environment served when a request names none (header)."),
    ] = "production",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    rollout_controller: Annotated[
        bool,
        typer.Option(
            "--rollout-controller",
            help="Also run the rollout controller (as `rollout run`) in the server.",
        ),
    ] = False,
) -> None:
    """Serve the deployed models over HTTP, following deployment changes without restart."""
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f"--log-level {log_level!r} is not one of debug, info, warning, error",
            field="log_level",
        )
    options = modelward.ServeOptions(
        host=host,
        port=port,
        workers=workers,
        environment=env,
        log_level=log_level.lower(),
        rollout_controller=rollout_controller,
    )
    modelward.serve(state().workspace(), options)


UrlOption = Annotated[str, typer.Option("--url", help="The server's base URL.")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="MODELWARD_TOKEN", help="API token (default: $MODELWARD_TOKEN)."
    ),
]


@calls("modelward.verify_deployment")
def verify(
    name: Annotated[str, typer.Argument(help="Model name.")],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment to verify.")] = "staging",
    cases: Annotated[
        str | None,
        typer.Option(
            "--cases", help="Held-out rows (CSV, Parquet or dataset spec); default: synthetic."
        ),
    ] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay rows through the live endpoint: predictions must equal the offline ones and
    p95 latency be within policy (exit 1 otherwise)."""
    ws = state().workspace()
    frame = None if cases is None else modelward.read_data(cases)
    if sys.stderr.isatty():
        with RichProgress() as progress:
            results = modelward.verify_deployment(
                ws, name, env, url=url, cases=frame, token=token, progress=progress
            )
    else:  # no bar when piped: stderr stays the one error line
        results = modelward.verify_deployment(ws, name, env, url=url, cases=frame, token=token)
    if as_json:
        print_json(results)
        return
    console.print(
        f"verified {name} ({env}): {results['answered']}/{results['rows']} rows equal offline "
        f"(max probability gap {results['max_probability_gap']:.1g}), p95 "
        f"{results['p95_ms']:.1f} ms ≤ {results['p95_limit_ms']:g} ms; versions "
        + ", ".join(f"v{v}: {n}" for v, n in results["versions"].items())
    )


@calls("modelward.benchmark_server")
def benchmark(
    name: Annotated[str, typer.Argument(help="Model name.")],
    url: UrlOption = "http://127.0.0.1:8000",
    scenarios: Annotated[
        str, typer.Option("--scenarios", help="Comma-separated: single, batch, concurrent.")
    ] = "single,batch,concurrent",
    duration: Annotated[str, typer.Option("--duration", help="Per scenario, e.g. 20s.")] = "20s",
    env: Annotated[str, typer.Option("--env", "-e", help="Environment header.")] = "production",
    data: Annotated[
        str | None, typer.Option("--data", help="Rows to send (default: synthetic from schema).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per batch.")] = 100,
    connections: Annotated[
        int, typer.Option(min=1, max=1024, help="Connections for 'concurrent'.")
    ] = 16,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a running server: throughput and p50/p95/p99 latency per scenario."""
    ws = state().workspace()
    results = modelward.benchmark_server(
        ws, name, url=url, scenarios=scenarios, duration=duration, environment=env,
        data=None if data is None else modelward.read_data(data), batch_size=batch_size,
        connections=connections, token=token,
    )  # fmt: skip
    if as_json:
        print_json(results)
        return
    rows_out = [
        (
            s,
            r["connections"],
            r["requests"],
            r["requests_per_s"],
            r["rows_per_s"],
            r["p50_ms"],
            r["p95_ms"],
            r["p99_ms"],
            r["errors"],
        )
        for s, r in results.items()
    ]
    columns = ("scenario", "conns", "requests", "req/s", "rows/s", "p50 ms", "p95 ms", "p99 ms")
    console.print(table((*columns, "errors"), rows_out))


@calls("modelward.run_dashboard")
def ui(
    host: Annotated[str, typer.Option(help="Address to bind (beyond loopback needs tokens).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
) -> None:
    """Serve the web dashboard alone (`modelward serve` serves it too, under /ui/)."""

    def ready(url: str) -> None:
        print(f"modelward dashboard on {url}", flush=True)

    modelward.run_dashboard(state().workspace(), host=host, port=port, on_ready=ready)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("ui")(ui)
    app.command("verify")(verify)
    app.command("benchmark")(benchmark)

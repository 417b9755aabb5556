"""``modelward serve``, ``verify`` and ``benchmark``: the prediction server and its checks."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.cli.app import state
from modelward.cli.options import JsonOption


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
    from modelward.errors import ConfigError
    from modelward.serving.run import ServeOptions
    from modelward.serving.run import serve as run_server

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f"--log-level {log_level!r} is not one of debug, info, warning, error",
            field="log_level",
        )
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        environment=env,
        log_level=log_level.lower(),
        rollout_controller=rollout_controller,
    )
    run_server(state().workspace(), options)


UrlOption = Annotated[str, typer.Option("--url", help="The server's base URL.")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="MODELWARD_TOKEN", help="API token (default: $MODELWARD_TOKEN)."
    ),
]


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
    from modelward.cli.output import RichProgress, console, print_json
    from modelward.verification import verify as run_verify

    ws = state().workspace()
    frame = None
    if cases is not None:
        from modelward.data import read_data

        frame = read_data(cases)
    import sys

    if sys.stderr.isatty():
        with RichProgress() as progress:
            results = run_verify(
                ws, name, env, url=url, cases=frame, token=token, progress=progress
            )
    else:  # no bar when piped: stderr stays the one error line
        results = run_verify(ws, name, env, url=url, cases=frame, token=token)
    if as_json:
        print_json(results)
        return
    console.print(
        f"verified {name} ({env}): {results['answered']}/{results['rows']} rows equal offline "
        f"(max probability gap {results['max_probability_gap']:.1g}), p95 "
        f"{results['p95_ms']:.1f} ms ≤ {results['p95_limit_ms']:g} ms; versions "
        + ", ".join(f"v{v}: {n}" for v, n in results["versions"].items())
    )


SCENARIOS = ("single", "batch", "concurrent")


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
    from modelward.cli.output import console, print_json, table
    from modelward.errors import ConfigError
    from modelward.serving.loadgen import run_load
    from modelward.timeutil import parse_duration
    from modelward.verification.live import rows_of, synthetic_rows

    wanted = [s.strip() for s in scenarios.split(",") if s.strip()]
    bad = [s for s in wanted if s not in SCENARIOS]
    if bad or not wanted:
        raise ConfigError(
            f"unknown scenario {bad[0] if bad else scenarios!r}; use any of {', '.join(SCENARIOS)}",
            field="scenarios",
        )
    seconds = parse_duration(duration, what="--duration").total_seconds()
    if seconds <= 0:
        raise ConfigError("--duration must be more than 0s, e.g. 20s", field="duration")
    ws = state().workspace()
    schema = ws.registry.get_version(name, ws.deployments.get(name, env).primary).input_schema
    if data is not None:
        from modelward.data import read_data

        rows = rows_of(read_data(data), schema)
    else:
        rows = synthetic_rows(schema)
    batch = (rows * (batch_size // len(rows) + 1))[:batch_size]
    headers = {"X-Modelward-Environment": env}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoint = f"{url.rstrip('/')}/v1/models/{name}/predict"
    plans = {
        "single": ({"inputs": rows[0]}, 1, 1),
        "batch": ({"inputs": batch}, 1, batch_size),
        "concurrent": ({"inputs": rows[0]}, connections, 1),
    }
    results = {}
    for scenario in wanted:
        body, conns, per = plans[scenario]
        try:
            outcome = run_load(endpoint, body, connections=conns, seconds=seconds, headers=headers)
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the server at {url} ({exc.strerror or exc}); start it with "
                "`modelward serve` or pass --url",
                field="url",
            ) from exc
        results[scenario] = {"connections": conns, **outcome.summary(per)}
    ws.registry.record_run(
        "benchmark",
        model=name,
        version=None,
        inputs={"url": url, "environment": env, "duration_s": seconds},
        results=results,
        verdict="info",
    )
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("verify")(verify)
    app.command("benchmark")(benchmark)

"""``modelward serve``: the prediction server."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.cli.app import state


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
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow binding beyond loopback without tokens.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
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
        insecure=insecure,
        environment=env,
        log_level=log_level.lower(),
    )
    run_server(state().workspace(), options)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

"""``modelward llm fake-server`` and ``llm gateway``: the two servers the fleet runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state


@calls("modelward.FakeServer.from_files")
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
    server = modelward.FakeServer.from_files(config, answers=answers, port=port).start()
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


@calls("modelward.run_gateway")
def gateway_cmd(
    host: Annotated[str, typer.Option(help="Interface (127.0.0.1 unless behind auth).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = 8800,
    env: Annotated[
        str, typer.Option("--env", help="Whose routing table to follow: production or staging.")
    ] = "production",
) -> None:
    """Run the OpenAI-compatible gateway (/v1/chat/completions, /v1/models)."""

    def ready(url: str) -> None:
        print(f"modelward LLM gateway on {url}", flush=True)

    modelward.run_gateway(
        state().workspace(), host=host, port=port, on_ready=ready, environment=env
    )


def register(llm_app: typer.Typer) -> None:
    llm_app.command("fake-server")(fake_server_cmd)
    llm_app.command("gateway")(gateway_cmd)

"""The LLM fleet demo: FAKE providers (not real models), real everything else.

    python examples/llm/demo.py [WORKDIR]

Starts fake OpenAI/Anthropic/Ollama/Hugging Face servers on 127.0.0.1, creates a
workspace in WORKDIR/workspace (a temporary folder by default; `make demo` gives the
heart-disease demo's, so one workspace holds both runbooks), and runs the runbook: register
endpoints, health check, evaluate, compare, select and apply a routing table, tune, serve
requests through the OpenAI-compatible gateway with the official openai SDK, show usage,
optimize cost, and roll out new endpoint versions as canaries over the routing table (a
healthy one promoted stage by stage, a failing one rolled back). Each step is a
`modelward` command, printed before it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str, check: bool = True) -> int:
    print(f"\n$ modelward {' '.join(args)}", flush=True)
    code = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", *args], check=False
    ).returncode
    if check and code not in (0, 1):
        raise SystemExit(f"`modelward {' '.join(args)}` failed with exit code {code}")
    if code == 1:
        print("(exit 1: a check found a problem, as the runbook expects here)")
    return code


def main() -> None:
    from modelward.llm.fake import FakeServer
    from modelward.llm.fake.behaviour import load_behaviour

    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="mw-llm-"))
    ws = workdir / "workspace"  # the heart-disease demo's, when given the same WORKDIR
    os.environ["MODELWARD_HOME"] = str(ws)
    os.environ.setdefault("OPENAI_API_KEY", "demo-key-not-real")
    os.environ.setdefault("ANTHROPIC_API_KEY", "demo-key-not-real")
    behaviour = load_behaviour(HERE / "fake.yml")
    behaviour.add_answers_from(HERE / "qa.jsonl")
    with FakeServer(behaviour) as fake:
        print(
            f"NOTE: this demo uses FAKE LLM providers on {fake.url} (deterministic answers, "
            "no real model)."
        )
        if not ws.exists():
            run("init", str(ws))
        config = (HERE / "llm.yml").read_text(encoding="utf-8")
        for real, local in [
            ("https://api.openai.com/v1", fake.openai_url),
            ("https://api.anthropic.com", fake.anthropic_url),
            ("http://127.0.0.1:11434", fake.ollama_url),
            ("https://api-inference.huggingface.co", fake.hf_url),
        ]:
            config = config.replace(real, local)
        (ws / "llm.yml").write_text(config, encoding="utf-8")
        data = str(HERE / "qa.jsonl")
        run(
            "llm",
            "register",
            "fast-small",
            "--provider",
            "openai",
            "--model",
            "fast-small",
            "--param",
            "temperature=0",
        )
        run("llm", "register", "big-accurate", "--provider", "openai", "--model", "big-accurate")
        run(
            "llm",
            "register",
            "mid-balanced",
            "--provider",
            "anthropic",
            "--model",
            "mid-balanced",
            "--param",
            "temperature=0.7",
            "--prompt",
            str(HERE / "prompt.txt"),
        )
        run("llm", "register", "flaky", "--provider", "openai", "--model", "flaky")
        run("llm", "health")
        run(
            "llm",
            "evaluate",
            "--models",
            "fast-small,big-accurate,mid-balanced,flaky",
            "--dataset",
            data,
            check=False,
        )
        run("llm", "compare", "--models", "big-accurate,mid-balanced,fast-small", "--dataset", data)
        run(
            "llm",
            "tune",
            "mid-balanced",
            "--dataset",
            data,
            "--params",
            "temperature",
            "--grid",
            "temperature=0,0.7",
        )
        run("llm", "select", "--dataset", data, "--apply", check=False)
        run("llm", "routes", "show")
        run("transition", "big-accurate", "1", "--to", "testing", "--reason", "demo")
        run("transition", "big-accurate", "1", "--to", "staging", "--reason", "passed llm evaluate")
        gateway_demo(ws)
        run("llm", "usage")
        run(
            "llm",
            "optimize-cost",
            "--budget",
            "50",
            "--volume",
            "100000",
            "--batch-share",
            "0.3",
            check=False,
        )
        run("llm", "history")
        canary_demo(ws, data)
    print(f"\nWorkspace left at {ws}")


class Gateway:
    """The gateway (what `modelward llm gateway` serves) on a free 127.0.0.1 port."""

    def __init__(self, ws: Path) -> None:
        import socket
        import threading

        import uvicorn

        from modelward.llm.gateway import create_gateway_app
        from modelward.workspace import Workspace

        self.workspace = Workspace.open(ws)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        app = create_gateway_app(self.workspace)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.workspace.close()


def gateway_demo(ws: Path) -> None:
    """Serve the gateway on 127.0.0.1 and call it with the official openai SDK."""
    from openai import OpenAI

    print("\n# the gateway (`modelward llm gateway`) with the official openai SDK as client")
    gateway = Gateway(ws)
    try:
        with OpenAI(base_url=gateway.url, api_key="demo") as client:
            print("models:", ", ".join(m.id for m in client.models.list()))
            for question in [
                "What is the capital of France?",
                "What is 17 * 3? (python)",
                "What is the capital of France?",
            ]:
                answer = client.chat.completions.with_raw_response.create(
                    model="auto", messages=[{"role": "user", "content": question}]
                )
                parsed = answer.parse()
                print(
                    f"  {question!r} -> {parsed.choices[0].message.content!r} "
                    f"[{parsed.model}, {answer.headers.get('x-modelward-query-type')}, "
                    f"cache {answer.headers.get('x-modelward-cache')}]"
                )
            stream = client.chat.completions.create(
                model="route:technical",
                stream=True,
                messages=[{"role": "user", "content": "What does SQL stand for?"}],
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            print(f"  streamed: {text!r}")
    finally:
        gateway.close()


def canary_demo(ws: Path, data: str) -> None:
    """Canaries of endpoint versions over the routing table: users keep calling the
    gateway (and rating answers) while `modelward rollout run` moves the canary's weight;
    a healthy version is promoted, one that fails half its calls is rolled back."""
    import threading

    import httpx
    from openai import APIError, OpenAI

    print("\n# canary rollouts of an endpoint model over the routing table (stages shortened)")
    (ws / "policy.yml").write_text(
        (ws / "policy.yml").read_text(encoding="utf-8")
        + "models:\n  assistant:\n    rollout: {min_samples: 20, min_labels: 10, "
        "check_interval: 1s}\n",
        encoding="utf-8",
    )
    run("llm", "register", "assistant", "--provider", "openai", "--model", "fast-small")
    for stage in ("testing", "staging", "production"):
        run("transition", "assistant", "1", "--to", stage, "--force", "--reason", "demo start")
    run("llm", "routes", "set", "factual", "--models", "assistant:1", "--reason", "demo")
    gateway = Gateway(ws)
    stop = threading.Event()

    def user(who: int) -> None:  # ask, and rate every answer as helpful
        with OpenAI(base_url=gateway.url, api_key="demo", max_retries=0) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    reply = client.chat.completions.create(
                        model="route:factual",
                        messages=[{"role": "user", "content": f"q{who}-{n}"}],
                    )
                except APIError:  # the gateway's error is logged; the user asks again
                    continue
                httpx.post(f"{gateway.url}/feedback", json={"id": reply.id, "rating": 1})

    # four users at once: a call the gateway retries (the bad build fails often) holds up
    # only its own user
    threads = [threading.Thread(target=user, args=(who,), daemon=True) for who in range(4)]
    for thread in threads:
        thread.start()
    try:
        for model, why in (
            ("fast-small-2", "the provider's new release"),
            ("broken", "a bad build"),
        ):
            version = "2" if model == "fast-small-2" else "3"
            run("llm", "register", "assistant", "--provider", "openai", "--model", model)
            run("llm", "evaluate", "--models", f"assistant:{version}", "--dataset", data,
                check=False)  # fmt: skip
            for stage in ("testing", "staging"):
                run("transition", "assistant", version, "--to", stage, "--force", "--reason",
                    "demo")  # fmt: skip
            run("rollout", "start", "assistant", "--version", version, "--stages",
                "25:2s,50:2s,100", "--force", "--reason", why)  # fmt: skip
            run("rollout", "run", "assistant", "--until-done", "--interval", "1")
            run("rollout", "status", "assistant")
            run("llm", "routes", "show")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        gateway.close()


if __name__ == "__main__":
    main()

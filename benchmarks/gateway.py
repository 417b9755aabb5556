"""LLM gateway overhead: modelward's gateway vs the LiteLLM proxy, same fake provider.

    python benchmarks/gateway.py [--requests 400] [--concurrency 32] [--skip-litellm]

Starts the FAKE OpenAI-compatible provider (`modelward llm fake-server`, zero added
latency), our gateway (`modelward llm gateway`, response cache off, every prompt unique)
and the LiteLLM proxy (benchmarks/.venv-litellm, created with pip on the first run), each
in its own process on 127.0.0.1. Then, in the same run:

- latency: sequential requests directly to the fake, through our gateway and through
  LiteLLM; the overhead is each path's p50 minus the direct p50;
- throughput: the same number of requests with --concurrency in flight, requests/s.

Prints the figures, the ratios, and the targets of issue 7 (gateway overhead p50 <= 1 ms,
throughput >= 3x LiteLLM's). ``--skip-litellm`` measures only our side (the fake directly
and through our gateway): no LiteLLM venv is created.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-litellm"
PY = sys.executable
MASTER_KEY = "sk-bench-" + secrets.token_hex(16)  # LiteLLM refuses to start without one
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT / "src"),
    "LITELLM_LOG": "ERROR",
    "LITELLM_MASTER_KEY": MASTER_KEY,
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_litellm() -> Path:
    binary = VENV / "bin" / "litellm"
    if binary.exists():
        return binary
    say(f"creating {VENV} with litellm[proxy] (first run only)…")
    subprocess.run([PY, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}) for {url}")
        try:
            headers = {"Authorization": f"Bearer {MASTER_KEY}"}
            if httpx.get(url, timeout=1, headers=headers).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up in {timeout:g}s")


def cli(*args: str) -> None:
    subprocess.run(
        [PY, "-m", "modelward.cli.main", *args], check=True, env=ENV, stdout=subprocess.DEVNULL
    )


async def measure(url: str, *, requests: int, concurrency: int, tag: str) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:

        async def one() -> None:
            body = {
                "model": "bench",
                "messages": [{"role": "user", "content": f"{tag} question number {next(counter)}"}],
            }
            start = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code} {response.text[:200]}")

        for _ in range(20):  # warm-up
            await one()
        latencies.clear()
        started = time.perf_counter()
        sem = asyncio.Semaphore(concurrency)

        async def bounded() -> None:
            async with sem:
                await one()

        await asyncio.gather(*(bounded() for _ in range(requests)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--skip-litellm", action="store_true", help="only measure our side (no LiteLLM)"
    )
    args = parser.parse_args()
    litellm = None if args.skip_litellm else ensure_litellm()
    work = Path(tempfile.mkdtemp(prefix="mw-gw-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        fake_port, gw_port, lite_port = free_port(), free_port(), free_port()
        (work / "fake.yml").write_text("models:\n  bench: {accuracy: 1.0}\n")
        procs.append(
            subprocess.Popen(
                [
                    PY,
                    "-m",
                    "modelward.cli.main",
                    "llm",
                    "fake-server",
                    "--config",
                    str(work / "fake.yml"),
                    "--port",
                    str(fake_port),
                ],
                env=ENV,
                stdout=subprocess.DEVNULL,
            )
        )
        fake = f"http://127.0.0.1:{fake_port}"
        wait_ready(f"{fake}/v1/models", procs[-1])
        ws = work / "ws"
        cli("init", str(ws))
        (ws / "llm.yml").write_text(
            f"providers:\n  fake:\n    kind: openai\n    base_url: {fake}/v1\n"
            "    max_retries: 0\n    concurrency: 64\n"
            "prices:\n  bench: {input: 1.0, output: 2.0}\n"
            "gateway:\n  cache_ttl_s: 0\n  default_query_type: factual\n"
        )
        cli("-w", str(ws), "llm", "register", "bench", "--provider", "fake", "--model", "bench")
        cli(
            "-w",
            str(ws),
            "llm",
            "routes",
            "set",
            "factual",
            "--models",
            "bench",
            "--reason",
            "benchmark",
        )
        procs.append(
            subprocess.Popen(
                [
                    PY,
                    "-m",
                    "modelward.cli.main",
                    "-w",
                    str(ws),
                    "llm",
                    "gateway",
                    "--port",
                    str(gw_port),
                ],
                env=ENV,
                stdout=subprocess.DEVNULL,
            )
        )
        gateway = f"http://127.0.0.1:{gw_port}"
        wait_ready(f"{gateway}/healthz", procs[-1])
        paths = {
            "direct": f"{fake}/v1/chat/completions",
            "modelward": f"{gateway}/v1/chat/completions",
        }
        if litellm is not None:
            paths["litellm"] = start_litellm(litellm, work, fake, lite_port, procs)
        seq = {
            name: asyncio.run(measure(url, requests=args.requests, concurrency=1, tag=name))
            for name, url in paths.items()
        }
        par = {
            name: asyncio.run(
                measure(url, requests=args.requests, concurrency=args.concurrency, tag=name + "-c")
            )
            for name, url in paths.items()
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    report(paths, seq, par, args.concurrency)


def start_litellm(
    litellm: Path, work: Path, fake: str, port: int, procs: list[subprocess.Popen]
) -> str:
    """The LiteLLM proxy in front of the fake; its chat-completions URL."""
    (work / "litellm.yaml").write_text(
        "model_list:\n  - model_name: bench\n    litellm_params:\n"
        f"      model: openai/bench\n      api_base: {fake}/v1\n      api_key: fake\n"
    )
    command = [
        str(litellm), "--config", str(work / "litellm.yaml"), "--port", str(port),
        "--host", "127.0.0.1", "--num_workers", "1",
    ]  # fmt: skip
    procs.append(
        subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    )
    lite = f"http://127.0.0.1:{port}"
    wait_ready(f"{lite}/health/liveliness", procs[-1], timeout=180)
    return f"{lite}/v1/chat/completions"


def report(paths: dict[str, str], seq: dict, par: dict, concurrency: int) -> None:
    print(
        f"{'path':<10} {'p50 ms':>8} {'p99 ms':>8} {'overhead p50':>13} "
        f"{'req/s @' + str(concurrency):>12}"
    )
    for name in paths:
        overhead = seq[name]["p50_ms"] - seq["direct"]["p50_ms"]
        print(
            f"{name:<10} {seq[name]['p50_ms']:>8.2f} {seq[name]['p99_ms']:>8.2f} "
            f"{overhead:>10.2f} ms {par[name]['rps']:>12.0f}"
        )
    ours = seq["modelward"]["p50_ms"] - seq["direct"]["p50_ms"]
    met = "met" if ours <= 1 else "NOT met"
    print(f"overhead p50: modelward {ours:.2f} ms (target <= 1 ms: {met})")
    if "litellm" not in paths:
        return
    theirs = seq["litellm"]["p50_ms"] - seq["direct"]["p50_ms"]
    ratio = par["modelward"]["rps"] / par["litellm"]["rps"]
    print(f"overhead p50: LiteLLM {theirs:.2f} ms")
    print(
        f"throughput ratio modelward / LiteLLM = {ratio:.2f}x "
        f"(target >= 3x: {'met' if ratio >= 3 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()

"""LLM gateway overhead: modelward's gateway vs the LiteLLM proxy, same fake provider.

    python benchmarks/gateway.py [--requests 400] [--concurrency 32] [--rounds 4] [--skip-litellm]
                                 [--baseline OTHER/src]

Starts the FAKE OpenAI-compatible provider (`modelward llm fake-server`), our gateway
(`modelward llm gateway`, response cache off, every prompt unique) and the LiteLLM proxy
(litellm[proxy]==LITELLM_VERSION in benchmarks/.venv-litellm, created with pip on the
first run), each in its own process on 127.0.0.1. The pin, 1.108.7, is the newest LiteLLM
whose [proxy] extra resolves from the package index this project's machines use: 1.110.x
requires `litellm-proxy` (not on that index), 1.108.14-1.109.x pin litellm-proxy-extras
releases it lacks (0.4.110.post1, 0.4.113) and 1.108.8-1.108.13 litellm-enterprise
0.1.79.post2, also absent. Two upstreams: the fake answering at
once, and the fake answering after 50 ms (a model's latency: the gateway's overhead must
not grow with it). For each, in the same run:

- agreement: the same prompts directly, through our gateway and through LiteLLM; the
  answers' texts must be the same (printed beside the figures);
- latency: sequential requests, the sides interleaved request by request (direct,
  modelward, litellm, then the next prompt starting one side later); the overhead is each
  path's p50 minus the direct p50, and beside it the median of the paired differences
  (each request minus the direct request sent next to it);
- throughput: requests with --concurrency in flight, requests/s.

The latency requests interleave one by one and the throughput chunks alternate (direct,
modelward, litellm, direct, ... in --rounds rounds of --requests / --rounds each), so a
change of the machine's load during the run falls on every side alike: with a 50 ms
upstream a round of 100 sequential requests takes 5 s a side, and on a shared machine
the load moves within that (whole rounds a side apart measured the load as much as the
gateway). The load average is printed before and after.

Prints the figures, the ratios, and the targets of issues 7 and 17 (gateway overhead p50
<= 1 ms, also with a 50 ms upstream; throughput >= 3x LiteLLM's). ``--skip-litellm``
measures only our side (the fake directly and through our gateway). ``--baseline DIR``
adds a side: the gateway of another checkout's ``src`` (say, main's), on a copy of the
workspace, interleaved with the others: a before/after in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
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
LITELLM_VERSION = "1.108.7"
PY = sys.executable
MASTER_KEY = "sk-bench-" + secrets.token_hex(16)  # LiteLLM refuses to start without one
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT / "src"),
    "LITELLM_LOG": "ERROR",
    "LITELLM_MASTER_KEY": MASTER_KEY,
}
#: upstream delay -> the fake's model answering with it
UPSTREAMS = {"0 ms": "bench", "50 ms": "bench50"}
AGREEMENT_PROMPTS = [f"agreement check {i}: what is {i} + {i}?" for i in range(5)]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_litellm() -> Path:
    binary = VENV / "bin" / "litellm"
    python = VENV / "bin" / "python"
    if binary.exists():
        found = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if found == LITELLM_VERSION:
            return binary
        say(f"{VENV} has litellm {found or '?'}; installing {LITELLM_VERSION}…")
    else:
        say(f"creating {VENV} with litellm[proxy]=={LITELLM_VERSION} (first run only)…")
        subprocess.run([PY, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
        check=True,
    )
    return binary


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


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


def body(model: str, content: str) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


async def post(client, url: str, payload: dict) -> dict:
    response = await client.post(url, json=payload)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code} {response.text[:200]}")
    return response.json()


async def chunk(client, url: str, model: str, n: int, concurrency: int, tag: str):
    """n requests, ``concurrency`` in flight: (latencies in s, elapsed s)."""
    latencies: list[float] = []
    counter = iter(range(n))
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            payload = body(model, f"{tag} question number {next(counter)} {time.time_ns()}")
            start = time.perf_counter()
            await post(client, url, payload)
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return latencies, time.perf_counter() - started


async def timed(client, url: str, payload: dict) -> float:
    """One request's latency in s."""
    start = time.perf_counter()
    await post(client, url, payload)
    return time.perf_counter() - start


async def bench(paths: dict[str, str], model: str, args: argparse.Namespace) -> dict:
    """Agreement, then sequential latency (the sides interleaved request by request) and
    throughput (the sides alternating chunk by chunk)."""
    import httpx

    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    clients = {
        name: httpx.AsyncClient(timeout=30, limits=limits, headers=headers) for name in paths
    }
    try:
        answers = {
            name: [
                (await post(clients[name], url, body(model, p)))["choices"][0]["message"]["content"]
                for p in AGREEMENT_PROMPTS
            ]
            for name, url in paths.items()
        }
        agree = {
            name: sum(a == d for a, d in zip(answers[name], answers["direct"], strict=True))
            for name in paths
        }
        for name, url in paths.items():  # warm-up
            await chunk(clients[name], url, model, 20, 1, f"{name}-warm")
        seq: dict[str, list[float]] = {name: [] for name in paths}
        par = {name: [0, 0.0] for name in paths}
        per_round = max(1, args.requests // args.rounds)
        names = list(paths)
        for r in range(args.rounds):
            for i in range(per_round):  # every side in turn, each prompt starting elsewhere
                turn = (r * per_round + i) % len(names)
                for name in names[turn:] + names[:turn]:
                    prompt = f"{name}-s{r} question number {i} {time.time_ns()}"
                    seq[name].append(await timed(clients[name], paths[name], body(model, prompt)))
            for name, url in paths.items():
                _, took = await chunk(
                    clients[name], url, model, per_round, args.concurrency, f"{name}-c{r}"
                )
                par[name][0] += per_round
                par[name][1] += took
    finally:
        for client in clients.values():
            await client.aclose()
    out = {}
    for name in paths:
        ordered = sorted(seq[name])
        paired = [ours - direct for ours, direct in zip(seq[name], seq["direct"], strict=True)]
        out[name] = {
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
            "paired_ms": statistics.median(paired) * 1000,
            "rps": par[name][0] / par[name][1],
            "agree": agree[name],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the sides")
    parser.add_argument(
        "--skip-litellm", action="store_true", help="only measure our side (no LiteLLM)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="another checkout's src: its gateway as one more side"
    )
    args = parser.parse_args()
    litellm = None if args.skip_litellm else ensure_litellm()
    work = Path(tempfile.mkdtemp(prefix="mw-gw-bench-"))
    procs: list[subprocess.Popen] = []
    before = load()
    try:
        fake_port, gw_port, lite_port = free_port(), free_port(), free_port()
        (work / "fake.yml").write_text(
            "models:\n  bench: {accuracy: 1.0}\n  bench50: {accuracy: 1.0, latency_ms: 50}\n"
        )
        procs.append(
            subprocess.Popen(
                [PY, "-m", "modelward.cli.main", "llm", "fake-server",
                 "--config", str(work / "fake.yml"), "--port", str(fake_port)],
                env=ENV,
                stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
        fake = f"http://127.0.0.1:{fake_port}"
        wait_ready(f"{fake}/v1/models", procs[-1])
        ws = work / "ws"
        cli("init", str(ws))
        (ws / "llm.yml").write_text(
            f"providers:\n  fake:\n    kind: openai\n    base_url: {fake}/v1\n"
            "    max_retries: 0\n    concurrency: 64\n"
            "prices:\n  bench: {input: 1.0, output: 2.0}\n  bench50: {input: 1.0, output: 2.0}\n"
            "gateway:\n  cache_ttl_s: 0\n  default_query_type: factual\n"
        )
        for model in UPSTREAMS.values():
            cli("-w", str(ws), "llm", "register", model, "--provider", "fake", "--model", model)
        cli("-w", str(ws), "llm", "routes", "set", "factual", "--models", "bench",
            "--reason", "benchmark")  # fmt: skip
        paths = {"direct": f"{fake}/v1/chat/completions"}
        if args.baseline is not None:
            shutil.copytree(ws, work / "ws-baseline")
            env = {**ENV, "PYTHONPATH": str(args.baseline.resolve())}
            url = start_gateway(work / "ws-baseline", free_port(), env, procs)
            paths["baseline"] = url
        paths["modelward"] = start_gateway(ws, gw_port, ENV, procs)
        if litellm is not None:
            paths["litellm"] = start_litellm(litellm, work, fake, lite_port, procs)
        results = {
            delay: asyncio.run(bench(paths, model, args)) for delay, model in UPSTREAMS.items()
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"load average (1/5/15 min): {before} before, {load()} after; {os.cpu_count()} CPUs")
    if litellm is not None:
        print(f"LiteLLM {LITELLM_VERSION}")
    for delay, result in results.items():
        report(delay, paths, result, args.concurrency)


def start_gateway(ws: Path, port: int, env: dict, procs: list[subprocess.Popen]) -> str:
    """Our gateway on ``ws`` (the code on ``env``'s PYTHONPATH); its chat-completions URL."""
    procs.append(
        subprocess.Popen(
            [PY, "-m", "modelward.cli.main", "-w", str(ws), "llm", "gateway",
             "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
    )  # fmt: skip
    gateway = f"http://127.0.0.1:{port}"
    wait_ready(f"{gateway}/healthz", procs[-1])
    return f"{gateway}/v1/chat/completions"


def start_litellm(
    litellm: Path, work: Path, fake: str, port: int, procs: list[subprocess.Popen]
) -> str:
    """The LiteLLM proxy in front of the fake; its chat-completions URL."""
    (work / "litellm.yaml").write_text(
        "model_list:\n"
        + "".join(
            f"  - model_name: {model}\n    litellm_params:\n"
            f"      model: openai/{model}\n      api_base: {fake}/v1\n      api_key: fake\n"
            for model in UPSTREAMS.values()
        )
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


def report(delay: str, paths: dict[str, str], res: dict, concurrency: int) -> None:
    n = len(AGREEMENT_PROMPTS)
    print(f"\nupstream answering after {delay}")
    print(
        f"{'path':<10} {'p50 ms':>8} {'p99 ms':>8} {'overhead p50':>13} {'paired':>9} "
        f"{'req/s @' + str(concurrency):>12}  answers as direct"
    )
    for name in paths:
        overhead = res[name]["p50_ms"] - res["direct"]["p50_ms"]
        print(
            f"{name:<10} {res[name]['p50_ms']:>8.2f} {res[name]['p99_ms']:>8.2f} "
            f"{overhead:>10.2f} ms {res[name]['paired_ms']:>6.2f} ms "
            f"{res[name]['rps']:>12.0f}  {res[name]['agree']}/{n}"
        )
    agreed = all(res[name]["agree"] == n for name in paths)
    ours = res["modelward"]["p50_ms"] - res["direct"]["p50_ms"]
    met = "met" if ours <= 1 else "NOT met"
    print(
        f"overhead p50: modelward {ours:.2f} ms, paired median "
        f"{res['modelward']['paired_ms']:.2f} ms (target <= 1 ms: {met}); "
        f"answers agree: {'yes' if agreed else 'NO'}"
    )
    if "litellm" not in paths:
        return
    theirs = res["litellm"]["p50_ms"] - res["direct"]["p50_ms"]
    ratio = res["modelward"]["rps"] / res["litellm"]["rps"]
    print(f"overhead p50: LiteLLM {theirs:.2f} ms")
    print(
        f"throughput ratio modelward / LiteLLM = {ratio:.2f}x "
        f"(target >= 3x: {'met' if ratio >= 3 else 'NOT met'}; answers agree: "
        f"{'yes' if agreed else 'NO'})"
    )


if __name__ == "__main__":
    main()

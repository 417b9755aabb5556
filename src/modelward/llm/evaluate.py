"""``modelward llm evaluate``: every model on every dataset item, with bounded concurrency.

Per item: output, latency, tokens, cost, score, relevance, coherence (and the error when
the provider failed). Per model: the metrics of :mod:`modelward.llm.metrics` overall and
per category, verdicts against the policy's thresholds, and one ``llm-evaluation`` run
record per version (the lifecycle gate into staging reads it). The run keeps every item's
id, score and correctness and the dataset's digest (``dataset_sha256``), so two versions
evaluated on the same items can be paired (:mod:`modelward.llm.paired`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, ProviderError
from modelward.llm.metrics import summarize
from modelward.llm.scoring import coherence, relevance, score
from modelward.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from modelward.llm.types import Endpoint, Item
    from modelward.workspace import Workspace

__all__ = ["Evaluation", "dataset_digest", "evaluate", "verdicts"]


@dataclass
class Evaluation:
    endpoint: Endpoint
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    by_category: dict[str, dict[str, Any]]
    checks: list[dict[str, Any]]
    verdict: str
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.endpoint.ref

    def to_dict(self, *, items: bool = False) -> dict[str, Any]:
        out = {
            "model": self.ref,
            "provider": self.endpoint.provider,
            "model_id": self.endpoint.model,
            "params": self.endpoint.params,
            "metrics": self.metrics,
            "by_category": self.by_category,
            "checks": self.checks,
            "verdict": self.verdict,
            "run_id": self.run_id,
        }
        if items:
            out["items"] = self.rows
        return out


async def _judge_score(ws: Workspace, judge: Endpoint, item: Item, output: str) -> float:
    prompt = (
        "Rate the answer to the question on a scale from 0 to 10 for correctness against the "
        "reference. Reply with the number only.\n"
        f"Question: {item.prompt_text()}\nReference: {item.reference or '; '.join(item.expected)}"
        f"\nAnswer: {output}"
    )
    call = await ws.llm.call(judge, [{"role": "user", "content": prompt}])
    match = re.search(r"\d+(?:\.\d+)?", call.result.text)
    return min(10.0, float(match.group(0))) / 10 if match else 0.0


class RateLimiter:
    """At most ``rate`` call starts per second (evenly spaced); ``None`` = no limit."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


async def _one(
    ws: Workspace,
    endpoint: Endpoint,
    item: Item,
    sem: asyncio.Semaphore,
    limiter: RateLimiter,
    use_cache: bool,
    judge: Endpoint | None,
    params: dict[str, Any] | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": item.id,
        "category": item.category,
        "output": None,
        "latency_ms": 0.0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost": None,
        "score": 0.0,
        "correct": False,
        "relevance": 0.0,
        "coherence": 0.0,
        "error": None,
        "cached": False,
    }
    async with sem:
        try:
            call = await ws.llm.call(
                endpoint, item.messages, use_cache=use_cache, params=params, limiter=limiter
            )
        except ProviderError as exc:
            row["error"] = exc.message
            return row
    result = call.result
    if item.scorer == "judge":
        if judge is None:
            value = 0.0
            row["error"] = "the judge scorer needs --judge MODEL (or judge: in llm.yml)"
        else:
            value = await _judge_score(ws, judge, item, result.text)
    else:
        value = score(result.text, item)
    row.update(
        output=result.text,
        latency_ms=result.latency_ms,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        cost=call.cost,
        score=value,
        correct=value >= 0.5,
        relevance=relevance(result.text, item),
        coherence=coherence(result.text),
        cached=call.cached,
    )
    return row


def verdicts(
    ws: Workspace, metrics: dict[str, Any], by_category: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Checks against the policy: accuracy and p95 response time per category, error rate
    and cost per query overall."""
    policy = ws.policy.llm
    checks: list[dict[str, Any]] = []
    for category, values in sorted(by_category.items()):
        threshold = policy.category_thresholds.get(category)
        accuracy = values["accuracy"]["value"]
        if threshold is not None:
            checks.append(
                {
                    "check": f"accuracy[{category}]",
                    "value": accuracy,
                    "limit": threshold,
                    "passed": accuracy is not None and accuracy >= threshold,
                }
            )
        limit = policy.max_response_time_s.get(category)
        p95 = values["response_time"]["p95"]["value"]
        if limit is not None and p95 is not None:
            checks.append(
                {
                    "check": f"response_time_p95_s[{category}]",
                    "value": p95,
                    "limit": limit,
                    "passed": p95 <= limit,
                }
            )
    error_rate = metrics["error_rate"]["value"]
    checks.append(
        {
            "check": "error_rate",
            "value": error_rate,
            "limit": policy.max_error_rate,
            "passed": error_rate is not None and error_rate <= policy.max_error_rate,
        }
    )
    per_query = metrics["cost"]["per_query"]["value"]
    if per_query is not None:
        checks.append(
            {
                "check": "cost_per_query",
                "value": per_query,
                "limit": policy.max_cost_per_query,
                "passed": per_query <= policy.max_cost_per_query,
            }
        )
    return checks


async def _evaluate(
    ws: Workspace,
    endpoints: list[Endpoint],
    items: list[Item],
    *,
    concurrency: int,
    rate: float | None,
    use_cache: bool,
    judge: Endpoint | None,
    progress: Progress,
    params: dict[str, Any] | None,
) -> list[list[dict[str, Any]]]:
    sem = asyncio.Semaphore(concurrency)
    limiter = RateLimiter(rate)
    total = len(endpoints) * len(items)
    try:
        with progress.task(f"evaluating {len(endpoints)} model(s)", total=total) as advance:

            async def tracked(endpoint: Endpoint, item: Item) -> dict[str, Any]:
                row = await _one(ws, endpoint, item, sem, limiter, use_cache, judge, params)
                advance()
                return row

            results = []
            for endpoint in endpoints:
                results.append(await asyncio.gather(*(tracked(endpoint, i) for i in items)))
            return results
    finally:
        await ws.llm.aclose()


def evaluate(
    ws: Workspace,
    refs: list[str],
    items: list[Item],
    *,
    concurrency: int = 4,
    rate: float | None = None,
    use_cache: bool = True,
    judge: str | None = None,
    record: bool = True,
    dataset: str = "",
    params: dict[str, Any] | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[Evaluation]:
    """Evaluate each endpoint in ``refs`` on ``items`` and record one run per version."""
    if concurrency < 1:
        raise ConfigError(
            f"--concurrency must be at least 1, got {concurrency}", field="concurrency"
        )
    if rate is not None and rate <= 0:
        raise ConfigError(
            f"--rate must be a positive number of calls per second, got {rate:g}", field="rate"
        )
    if not refs:
        raise ConfigError("name at least one model: --models a,b", field="models")
    endpoints = [ws.llm.resolve(ref) for ref in refs]
    for endpoint in endpoints:
        ws.llm.config.provider(endpoint.provider)  # a provider missing from llm.yml: fail early
    judge_ref = judge or ws.llm.config.judge
    judge_endpoint = ws.llm.resolve(judge_ref) if judge_ref else None
    all_rows = asyncio.run(
        _evaluate(
            ws,
            endpoints,
            items,
            concurrency=concurrency,
            rate=rate,
            use_cache=use_cache,
            judge=judge_endpoint,
            progress=progress,
            params=params,
        )
    )
    out = []
    for endpoint, rows in zip(endpoints, all_rows, strict=True):
        metrics = summarize(rows)
        categories = sorted({r["category"] for r in rows})
        by_category = {c: summarize([r for r in rows if r["category"] == c]) for c in categories}
        checks = verdicts(ws, metrics, by_category)
        verdict = "pass" if all(c["passed"] for c in checks) else "fail"
        evaluation = Evaluation(endpoint, rows, metrics, by_category, checks, verdict)
        if record and params is None:
            run = ws.registry.record_run(
                "llm-evaluation",
                model=endpoint.name,
                version=endpoint.version,
                inputs={
                    "dataset": dataset,
                    "dataset_sha256": dataset_digest(items),
                    "items": len(items),
                    "concurrency": concurrency,
                    "rate": rate,
                    "judge": judge_ref,
                },
                results={**evaluation.to_dict(), "items": _compact(rows)},
                verdict=verdict,
            )
            evaluation.run_id = run.id
        out.append(evaluation)
    return out


def dataset_digest(items: list[Item]) -> str:
    """sha256 of the items' content (ids, prompts, expected answers, scorers): equal digests
    mean two evaluations asked the same questions and judged them the same way."""
    import orjson

    payload = orjson.dumps([asdict(item) for item in items], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def _compact(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "id",
        "category",
        "score",
        "correct",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "cost",
        "error",
        "cached",
    )
    return [{k: r[k] for k in keys} for r in rows]

"""``modelward verify``: replay rows through the live endpoint and compare with offline.

Every row is sent on its own (as a client would) to ``POST /v1/models/NAME/predict`` with
the environment header; the answer must come from a version the deployment holds, its
label must equal the label that version's artifact gives offline (loaded from the
registry, checksum verified), and its probabilities must agree within 1e-4 (the ONNX
path computes in float32). The client-side p95 latency must be within
``policy.serving.latency.p95_ms``. The result is stored as a ``verification`` run.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from modelward.errors import CheckFailed, ConfigError, DataError, ModelwardError
from modelward.progress import NO_PROGRESS, Progress
from modelward.verification.offline import Verifier

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["PROBA_TOLERANCE", "live_verifier", "rows_of", "synthetic_rows", "verify"]

PROBA_TOLERANCE = 1e-4


def synthetic_rows(schema: dict[str, Any], n: int = 50) -> list[dict[str, Any]]:
    """Rows spread over the training ranges (categories cycled), when no cases are given."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for col in schema.get("columns", []):
        kind = col.get("kind")
        for i, row in enumerate(rows):
            if kind in ("integer", "float"):
                low, high = float(col.get("min", 0)), float(col.get("max", 1))
                value = float(rng.uniform(low, high))
                row[col["name"]] = int(round(value)) if kind == "integer" else value
            elif col.get("categories"):
                row[col["name"]] = col["categories"][i % len(col["categories"])]
            else:
                row[col["name"]] = None if col.get("nullable") else ""
    return rows


def rows_of(frame: pd.DataFrame, schema: dict[str, Any]) -> list[dict[str, Any]]:
    names = [c["name"] for c in schema.get("columns", [])]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(
            f"the cases file lacks the model's input column(s) {', '.join(missing)}; "
            "pass held-out rows with every input column",
            field="cases",
        )
    kinds = {c["name"]: c.get("kind") for c in schema.get("columns", [])}
    rows = []
    for record in frame[names].to_dict(orient="records"):
        row: dict[str, Any] = {}
        for raw_key, value in record.items():
            key = str(raw_key)
            if value is None or (isinstance(value, float) and value != value):
                row[key] = None
            elif kinds[key] == "integer" and isinstance(value, float) and value.is_integer():
                row[key] = int(value)
            else:
                row[key] = value.item() if hasattr(value, "item") else value
        rows.append(row)
    if not rows:
        raise DataError("the cases file has no rows", field="cases")
    return rows


def verify(
    ws: Workspace,
    name: str,
    env: str,
    *,
    url: str,
    cases: pd.DataFrame | None = None,
    token: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> dict[str, Any]:
    import httpx
    import numpy as np
    import pandas as pd

    deployment = ws.deployments.get(name, env)
    schema = ws.registry.get_version(name, deployment.primary).input_schema
    rows = synthetic_rows(schema) if cases is None else rows_of(cases, schema)
    headers = {"X-Modelward-Environment": env}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    endpoint = f"{url.rstrip('/')}/v1/models/{name}/predict"
    run = uuid.uuid4().hex[:8]
    answers: list[dict[str, Any]] = []
    latencies: list[float] = []
    problems: list[str] = []
    try:
        with httpx.Client(timeout=30) as http:
            for i, row in progress.track(
                list(enumerate(rows)), description=f"replaying {len(rows)} rows"
            ):
                started = time.perf_counter()
                reply = http.post(
                    endpoint,
                    json={"inputs": row},
                    headers={**headers, "X-Request-Id": f"verify-{run}-{i}"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 200:
                    problems.append(f"row {i}: HTTP {reply.status_code} {reply.text[:200]}")
                    answers.append({})
                    continue
                answers.append(reply.json())
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach the server at {url} ({type(exc).__name__}); start it with "
            "`modelward serve` or pass --url",
            field="url",
        ) from exc
    allowed = {t.version for t in deployment.targets}
    by_version: dict[int, list[int]] = {}
    foreign = 0
    for i, answer in enumerate(answers):
        if not answer:
            continue
        version = int(answer["version"])
        if version not in allowed:
            foreign += 1
            problems.append(f"row {i}: served by version {version}, not in {sorted(allowed)}")
            continue
        by_version.setdefault(version, []).append(i)
    mismatches = 0
    worst_gap = 0.0
    for version, indexes in by_version.items():
        flavor = ws.load_model(name, version)
        frame = pd.DataFrame(
            [rows[i] for i in indexes], columns=[c["name"] for c in schema["columns"]]
        )
        for col in schema["columns"]:
            if col.get("kind") in ("integer", "float"):
                frame[col["name"]] = frame[col["name"]].astype("float64")
        labels = np.asarray(flavor.predict(frame)).ravel().tolist()
        proba = flavor.predict_proba(frame)
        classes = [str(c) for c in (getattr(flavor, "classes", None) or [])]
        for j, i in enumerate(indexes):
            got = answers[i]
            if str(got["prediction"]) != str(labels[j]):
                mismatches += 1
                problems.append(
                    f"row {i}: live {got['prediction']!r} != offline {labels[j]!r} (v{version})"
                )
                continue
            if proba is not None and got.get("probabilities") and classes:
                gap = max(
                    abs(float(got["probabilities"][c]) - float(p))
                    for c, p in zip(classes, proba[j], strict=False)
                )
                worst_gap = max(worst_gap, gap)
                if gap > PROBA_TOLERANCE:
                    mismatches += 1
                    problems.append(f"row {i}: probabilities differ by {gap:.2g} (v{version})")
    p95 = float(np.percentile(latencies, 95)) if latencies else 0.0
    limit = ws.policy_for(name).serving.latency.p95_ms
    if p95 > limit:
        problems.append(f"p95 latency {p95:.1f} ms > {limit:g} ms (policy serving.latency.p95_ms)")
    results = {
        "rows": len(rows),
        "answered": sum(1 for a in answers if a),
        "mismatches": mismatches,
        "max_probability_gap": worst_gap,
        "versions": {str(v): len(ix) for v, ix in sorted(by_version.items())},
        "foreign_versions": foreign,
        "p50_ms": float(np.percentile(latencies, 50)) if latencies else 0.0,
        "p95_ms": p95,
        "p95_limit_ms": limit,
        "problems": problems[:20],
    }
    verdict = "fail" if problems else "pass"
    ws.registry.record_run(
        "verification",
        model=name,
        version=deployment.primary,
        inputs={
            "environment": env,
            "url": url,
            "cases": "synthetic" if cases is None else "file",
            "revision": deployment.revision,
        },
        results=results,
        verdict=verdict,
    )
    if problems:
        raise CheckFailed(
            f"verify {name} ({env}): {len(problems)} problem(s); first: {problems[0]}",
            result=results,
        )
    return results


def live_verifier(url: str, token: str | None = None) -> Verifier:
    """Verify against a running `modelward serve` (as `modelward verify` does): every
    answer from a version of the deployment, equal to its offline prediction, p95 latency
    within the policy. The server follows the new staging split within its poll interval."""

    def verify_live(ws: Workspace, name: str, version: int, env: str) -> tuple[bool, str]:
        info = ws.registry.get_version(name, version)
        if info.kind != "artifact":
            return True, "endpoint model: checked by its provider health check"
        deadline = time.monotonic() + 10
        while True:  # wait until the server routes the new split (it polls the DB)
            try:
                results = verify(ws, name, env, url=url, token=token)
            except CheckFailed as exc:
                foreign = isinstance(exc.result, dict) and exc.result.get("foreign_versions")
                if foreign and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                return False, exc.message
            except ModelwardError as exc:
                return False, exc.message
            return True, (
                f"{results.get('rows', '?')} rows replayed on {url}: answers match the "
                f"artifact, p95 {results['p95_ms']:.1f} ms"
            )

    return verify_live

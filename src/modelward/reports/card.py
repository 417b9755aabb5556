"""Model cards (``update_model_docs`` in the runbook): one Markdown and one HTML file per
version, written from what the workspace recorded: intended use, data and provenance,
metrics with intervals (the model's task's), per-group results where the data had groups,
validation, limitations, history. No domain wording: every section comes from the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.atomic import write_atomic
from modelward.errors import ConfigError
from modelward.reports.document import Document, figure_uri, write_html

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["card_document", "write_card"]

#: the metrics a card shows, by task
HEADLINE = {
    "binary-classification": (
        "accuracy",
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "brier_score",
    ),
    "multiclass-classification": (
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "f1_weighted",
        "log_loss",
        "roc_auc_ovr",
    ),
    "regression": ("mae", "rmse", "r2", "mape", "median_absolute_error"),
}
#: per-group columns (and bars), by task
GROUP_METRICS = {
    "binary-classification": ("accuracy", "roc_auc", "recall"),
    "multiclass-classification": ("accuracy", "balanced_accuracy", "f1_macro"),
    "regression": ("mae", "rmse", "r2"),
}


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def _ci(value: Any, low: Any, high: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _headline(task: str) -> tuple[str, ...]:
    return HEADLINE.get(task, HEADLINE["binary-classification"])


def _group_figure(
    results: dict[str, Any], names: tuple[str, ...], line: float | None, unit_range: bool
) -> str:
    """Bars per group for the task's group metrics with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(results["groups"])
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(groups), 3.4))
    width = 0.8 / len(names)
    for k, metric in enumerate(names):
        values: list[float] = []
        errors: list[list[float]] = [[], []]
        for group in groups:
            m = results["groups"][group]["metrics"].get(metric, {})
            value = m.get("value") or 0.0
            values.append(value)
            errors[0].append(value - (m.get("low") if m.get("low") is not None else value))
            errors[1].append((m.get("high") if m.get("high") is not None else value) - value)
        x = np.arange(len(groups)) + (k - (len(names) - 1) / 2) * width
        ax.bar(x, values, width, yerr=errors, capsize=3, label=metric)
    if line is not None:
        ax.axhline(line, ls="--", c="grey", lw=0.8)
    ax.set(xticks=np.arange(len(groups)), ylabel="value")
    if unit_range:
        ax.set_ylim(0, 1.05)
    ax.set_xticklabels(groups)
    ax.legend(loc="lower right", fontsize=8)
    return figure_uri(fig)


def card_document(ws: Workspace, name: str, version: int | str = "latest") -> Document:
    registry = ws.registry
    model = registry.get_model(name)
    info = registry.get_version(name, version)
    profile = registry.reference_profile(name, info.version) or {}
    runs = registry.list_runs(model=name, version=info.version)
    evaluations = [r for r in runs if r.kind == "evaluation"]
    validations = [r for r in runs if r.kind == "validation"]
    policy = ws.policy_for(name)
    thresholds = policy.thresholds
    task = model.task
    headline = _headline(task)
    group_names = GROUP_METRICS.get(task, GROUP_METRICS["binary-classification"])
    doc = Document(
        f"Model card: {info.ref}",
        f"{model.task} · stage {info.stage}"
        + (f" · aliases {', '.join(info.aliases)}" if info.aliases else "")
        + f" · {info.flavor} · sha256 {(info.sha256 or '')[:16]}… · created "
        f"{info.created_at:%Y-%m-%d %H:%M} UTC by {info.created_by}",
    )
    use = doc.section("Intended use")
    use.text(info.description or model.description or "No description was given at training.")
    use.text(
        f"A {task} model. It has been checked only on the data recorded below; it is not "
        "validated for data unlike its training data (see Limitations)."
    )
    data = doc.section("Data and provenance")
    src = info.source
    rows = [
        [k, src[k]]
        for k in (
            "data",
            "config",
            "config_sha256",
            "git_commit",
            "data_rows",
            "train_rows",
            "test_rows",
            "optimized_from",
        )
        if k in src
    ]
    rows.append(["task", task])
    if info.tags.get("positive_class") is not None:
        rows.append(["positive class", info.tags["positive_class"]])
    rows.append(["training data fingerprint", info.data_fingerprint])
    if profile.get("target_counts"):
        rows.append(
            ["training labels", ", ".join(f"{k}: {v}" for k, v in profile["target_counts"].items())]
        )
    data.table(["what", "value"], rows)
    columns = profile.get("columns", {})
    if columns:
        data.table(
            ["feature", "kind", "missing rate", "min", "mean", "max"],
            [
                [c, p.get("kind"), p.get("missing_rate"), p.get("min"), p.get("mean"), p.get("max")]
                for c, p in columns.items()
            ],
            caption="Training data profile (the reference for drift monitoring)",
        )
    metrics = doc.section("Metrics")
    test, test_ci, cv = (
        info.metrics.get("test", {}),
        info.metrics.get("test_ci", {}),
        info.metrics.get("cv", {}),
    )
    if test:
        metrics.table(
            ["metric", "held-out (95 % CI)", "cross-validation mean ± std"],
            [
                [
                    m,
                    _ci(test.get(m), *(test_ci.get(m) or [None, None])),
                    _cv_cell(cv.get(m)),
                ]
                for m in headline
                if m in test
            ],
            caption=f"{info.metrics.get('test_rows', '?')} held-out rows; intervals are 95 % "
            "percentile bootstrap",
        )
    for run in evaluations[:5]:
        r = run.results
        metrics.table(
            ["metric", "value (95 % CI)"],
            [
                [m, _ci(v.get("value"), v.get("low"), v.get("high"))]
                for m, v in r.get("metrics", {}).items()
                if m in headline and isinstance(v, dict)
            ],
            caption=f"Evaluation run #{run.id} on {r.get('data')} ({r.get('rows')} rows)",
        )
    class_run = next((r for r in evaluations if r.results.get("per_class")), None)
    if class_run is not None:
        latest_classes = class_run.results
        metrics.table(
            ["class", "support", "precision", "recall", "f1"],
            [
                [
                    label,
                    row.get("support"),
                    *(
                        _ci(row[m].get("value"), row[m].get("low"), row[m].get("high"))
                        for m in ("precision", "recall", "f1")
                    ),
                ]
                for label, row in latest_classes["per_class"].items()
            ],
            caption=f"Per class, evaluation run #{class_run.id} on {latest_classes.get('data')}",
        )
    limitations: list[str] = []
    group_tables = _group_results(evaluations, validations, task, group_names, thresholds)
    if group_tables:
        groups = doc.section("Per-group results")
        for kind, args in group_tables:
            if kind == "table":
                groups.table(*args[:2], caption=args[2])
            else:
                groups.image(*args)
        limitations += _group_limitations(evaluations, task, thresholds)
    valid = doc.section("Validation")
    if validations:
        latest = validations[0]
        valid.text(
            f"Latest validation: run #{latest.id} on {latest.results.get('data')} "
            f"({latest.created_at:%Y-%m-%d %H:%M} UTC): {latest.verdict}."
        )
        valid.table(
            ["group", "check", "value", "threshold", "result"],
            [
                [
                    c["group"],
                    c["name"],
                    _number(c["value"]),
                    "" if c["threshold"] is None else f"{c['op']} {_number(c['threshold'])}",
                    _status(c),
                ]
                for c in latest.results.get("checks", [])
            ],
        )
        for c in latest.results.get("checks", []):
            if not c.get("ran", True):
                limitations.append(
                    f"Validation run #{latest.id}: {c['name']} did not run ({c['detail']})."
                )
            elif not c["passed"]:
                limitations.append(
                    f"Validation run #{latest.id}: {c['name']} is {c['value']} "
                    f"(policy {c['op']} {c['threshold']})."
                )
    else:
        valid.text("Not validated yet: `modelward validate` runs the policy's checks.")
    missing = [
        c
        for c, p in columns.items()
        if (p.get("missing_rate") or 0) >= policy.data.max_missing_rate
    ]
    if missing:
        limitations.append(
            f"Training data missing-value rate above policy for: {', '.join(missing)}."
        )
    if info.metrics.get("test_rows") and info.metrics["test_rows"] < 100:
        limitations.append(
            f"The held-out set is small ({info.metrics['test_rows']} rows): intervals are wide."
        )
    if src.get("data") and "#" in str(src["data"]):
        limitations.append(
            f"Trained on one part of the data ({src['data']}); results on the other parts are "
            "those of the evaluation runs above (`modelward evaluate … --by COLUMN`)."
        )
    lim = doc.section("Limitations")
    for line in limitations or ["None recorded by the checks run so far."]:
        lim.text(line)
    history = doc.section("Version history")
    events = registry.history(name)
    history.table(
        ["time (UTC)", "version", "event", "from", "to", "by", "reason"],
        [
            [
                f"{e.created_at:%Y-%m-%d %H:%M}",
                e.version,
                e.kind,
                e.from_stage,
                e.to_stage,
                e.actor,
                e.reason,
            ]
            for e in events
        ],
    )
    return doc


def _cv_cell(cv: Any) -> str:
    if not isinstance(cv, dict) or not isinstance(cv.get("mean"), int | float):
        return ""
    std = cv.get("std")
    return f"{cv['mean']:.3f}" + (f" ± {std:.3f}" if isinstance(std, int | float) else "")


def _status(check: dict[str, Any]) -> str:
    if not check.get("ran", True):
        return "not run"
    return "pass" if check["passed"] else "fail"


def _group_results(
    evaluations: list[Any],
    validations: list[Any],
    task: str,
    names: tuple[str, ...],
    thresholds: Any,
) -> list[tuple[str, tuple[Any, ...]]]:
    """Tables (and bar charts) of per-group results: evaluation runs with ``--by`` and the
    latest validation's bias groups. Empty when the data had no groups."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    line = thresholds.accuracy if task != "regression" else None
    for run in evaluations[:5]:
        r = run.results
        if not r.get("groups"):
            continue
        rows = []
        for group, g in r["groups"].items():
            gm = g.get("metrics", {})
            rows.append(
                [
                    group,
                    g.get("rows"),
                    *(
                        _ci(gm[m].get("value"), gm[m].get("low"), gm[m].get("high"))
                        if isinstance(gm.get(m), dict)
                        else ""
                        for m in names
                    ),
                ]
            )
        caption = f"Evaluation run #{run.id} on {r.get('data')}"
        out.append(("table", ([r["by"], "rows", *names], rows, caption)))
        figure = _group_figure(r, names, line, task != "regression")
        out.append(("image", (figure, f"{r['by']}: metrics with 95 % CIs")))
    if validations:
        bias = validations[0].results.get("details", {}).get("bias", {})
        for attribute, detail in bias.items():
            if not isinstance(detail, dict) or not detail.get("groups"):
                continue
            groups = detail["groups"]
            cols = list(next(iter(groups.values())))
            differences = ", ".join(
                f"{k.replace('_', ' ')} {_number(v)}"
                for k, v in detail.items()
                if k.endswith(("_difference", "_ratio")) and v is not None
            )
            out.append(
                (
                    "table",
                    (
                        [attribute, *cols],
                        [[g, *(_number(v.get(c)) for c in cols)] for g, v in groups.items()],
                        f"Validation run #{validations[0].id}"
                        + (f": {differences}" if differences else ""),
                    ),
                )
            )
    return out


def _group_limitations(evaluations: list[Any], task: str, thresholds: Any) -> list[str]:
    """Groups whose accuracy is below the policy's (classifiers)."""
    if task == "regression":
        return []
    out = []
    for run in evaluations[:5]:
        r = run.results
        for group, g in (r.get("groups") or {}).items():
            acc = (g.get("metrics", {}).get("accuracy") or {}).get("value")
            if isinstance(acc, int | float) and acc < thresholds.accuracy:
                out.append(
                    f"On {r['by']} = {group} ({g['rows']} rows, run #{run.id}) accuracy is "
                    f"{acc:.3f}, below the policy's {thresholds.accuracy:.2f}."
                )
    return out


def write_card(
    ws: Workspace, name: str, version: int | str = "latest", *, out: Path | None = None
) -> tuple[Path, Path]:
    """Write ``<name>-v<version>.md`` and ``.html``; returns both paths."""
    info = ws.registry.get_version(name, version)
    folder = Path(out) if out is not None else ws.layout.cards
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file; give a folder for the card")
    doc = card_document(ws, name, info.version)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-v{info.version}"
    md = write_atomic(folder / f"{stem}.md", doc.to_markdown())
    html = write_html(folder / f"{stem}.html", doc)
    ws.registry.record_event(
        name,
        "documented",
        version=info.version,
        reason=f"model card written to {md}",
        details={"markdown": str(md), "html": str(html)},
    )
    return md, html

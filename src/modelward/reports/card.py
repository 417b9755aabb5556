"""Model cards (``update_model_docs`` in the runbook): one Markdown and one HTML file per
version, written from what the workspace recorded: intended use, data and provenance,
metrics with intervals, per-site and per-group results, validation, limitations, history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.atomic import write_atomic
from modelward.errors import ConfigError
from modelward.reports.document import Document, figure_uri, write_html

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["card_document", "write_card"]

HEADLINE = ("accuracy", "roc_auc", "f1", "precision", "recall", "log_loss", "brier_score")


def _ci(value: Any, low: Any, high: Any) -> str:
    if value is None:
        return ""
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _group_figure(results: dict[str, Any], accuracy_threshold: float) -> str:
    """Bars per group for accuracy, ROC-AUC and recall with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = ("accuracy", "roc_auc", "recall")
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
        x = np.arange(len(groups)) + (k - 1) * width
        ax.bar(x, values, width, yerr=errors, capsize=3, label=metric)
    ax.axhline(accuracy_threshold, ls="--", c="grey", lw=0.8)
    ax.set(xticks=np.arange(len(groups)), ylim=(0, 1.05), ylabel="value")
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
        "Decision support only: predictions go to a clinician or operator who sees the inputs; "
        "the model is not validated for populations unlike its training data (see Limitations)."
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
                    f"{cv[m]['mean']:.3f} ± {cv[m]['std']:.3f}" if m in cv else "",
                ]
                for m in HEADLINE
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
                if m in HEADLINE
            ],
            caption=f"Evaluation run #{run.id} on {r.get('data')} ({r.get('rows')} rows)",
        )
    groups = doc.section("Per-site and per-group results")
    limitations: list[str] = []
    shown = False
    for run in evaluations[:5]:
        r = run.results
        if "groups" not in r:
            continue
        shown = True
        table_rows = []
        for group, g in r["groups"].items():
            gm = g["metrics"]
            table_rows.append(
                [
                    group,
                    g["rows"],
                    *(
                        _ci(gm[m]["value"], gm[m]["low"], gm[m]["high"]) if m in gm else ""
                        for m in ("accuracy", "roc_auc", "recall")
                    ),
                ]
            )
            acc = gm.get("accuracy", {}).get("value")
            if acc is not None and acc < thresholds.accuracy:
                limitations.append(
                    f"On {r['by']} = {group} ({g['rows']} rows, run #{run.id}) accuracy is "
                    f"{acc:.3f}, below the policy's {thresholds.accuracy:.2f}."
                )
        groups.table(
            [r["by"], "rows", "accuracy", "roc_auc", "recall"],
            table_rows,
            caption=f"Evaluation run #{run.id} on {r.get('data')}",
        )
        groups.image(_group_figure(r, thresholds.accuracy), f"{r['by']}: metrics with 95 % CIs")
    if validations:
        bias = validations[0].results.get("details", {}).get("bias", {})
        for attribute, detail in bias.items():
            if "groups" not in detail:
                continue
            shown = True
            groups.table(
                [attribute, "rows", "selection rate", "TPR", "FPR", "accuracy"],
                [
                    [
                        g,
                        v["rows"],
                        v["selection_rate"],
                        v["true_positive_rate"],
                        v["false_positive_rate"],
                        v["accuracy"],
                    ]
                    for g, v in detail["groups"].items()
                ],
                caption=f"Validation run #{validations[0].id}: demographic-parity difference "
                f"{detail.get('demographic_parity_difference')}, equalized-odds difference "
                f"{detail.get('equalized_odds_difference')}",
            )
    if not shown:
        groups.text("No per-group results yet: `modelward evaluate … --by COLUMN` adds them.")
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
                    c["value"],
                    f"{c['op']} {c['threshold']}",
                    "pass" if c["passed"] else "fail",
                ]
                for c in latest.results.get("checks", [])
            ],
        )
        for c in latest.results.get("checks", []):
            if not c["passed"]:
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
            f"Trained on one part of the data ({src['data']}); performance on "
            "other sites is in the per-site results above."
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

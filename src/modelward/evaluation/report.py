"""The evaluation report: metrics with intervals, ROC, precision-recall, calibration and
confusion plots, threshold analysis, groups and the paired comparison."""

from __future__ import annotations

from typing import Any

from modelward.evaluation.result import Evaluation
from modelward.evaluation.tasks import GROUP_METRICS
from modelward.present import fmt_interval
from modelward.reports import Document, figure_uri

__all__ = ["evaluation_document", "metric_rows"]


def metric_rows(metrics: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [[name, m["value"], m["low"], m["high"]] for name, m in metrics.items()]


def _matrix_figure(confusion: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, cells = confusion["labels"], confusion["matrix"]
    k = len(labels)
    fig, ax = plt.subplots(figsize=(2.4 + 0.7 * k, 2.0 + 0.7 * k))
    ax.imshow(cells, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cells[i][j]), ha="center", va="center", fontsize=11)
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="actual")
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_yticklabels(labels)
    ax.set_title("Confusion")
    return figure_uri(fig)


def _residual_figures(evaluation: Evaluation) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = evaluation.scored.data
    residual = data.y_pred - data.y_true
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(data.y_true, data.y_pred, s=8, alpha=0.6)
    low = float(min(data.y_true.min(), data.y_pred.min()))
    high = float(max(data.y_true.max(), data.y_pred.max()))
    ax.plot([low, high], [low, high], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="actual", ylabel="predicted", title="Predicted against actual")
    out = [(figure_uri(fig), "Predicted against actual")]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(data.y_pred, residual, s=8, alpha=0.6)
    ax.axhline(0, ls="--", c="grey", lw=0.8)
    ax.set(xlabel="predicted", ylabel="residual (predicted - actual)", title="Residuals")
    out.append((figure_uri(fig), "Residuals against predictions"))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.hist(residual, bins=30)
    ax.set(xlabel="residual (predicted - actual)", ylabel="rows", title="Residual distribution")
    out.append((figure_uri(fig), "Residual distribution"))
    return out


def _figures(evaluation: Evaluation) -> list[tuple[str, str]]:
    task = evaluation.results.get("task", "binary-classification")
    if task == "regression":
        return _residual_figures(evaluation)
    if task == "multiclass-classification":
        return [(_matrix_figure(evaluation.results["confusion"]), "Confusion matrix")]
    return _binary_figures(evaluation)


def _binary_figures(evaluation: Evaluation) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    scored = evaluation.scored
    curves = [(f"v{scored.version.version}", scored.data)]
    if evaluation.baseline is not None:
        curves.append(
            (f"v{evaluation.baseline.version.version} (baseline)", evaluation.baseline.data)
        )
    out = []
    if scored.data.y_score is not None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for label, data in curves:
            if data.y_score is not None:
                fpr, tpr, _ = roc_curve(data.y_true, data.y_score)
                ax.plot(fpr, tpr, label=label)
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        ax.legend(loc="lower right")
        out.append((figure_uri(fig), "ROC curve"))
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for label, data in curves:
            if data.y_score is not None:
                precision, recall, _ = precision_recall_curve(data.y_true, data.y_score)
                ax.plot(recall, precision, label=label)
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
        ax.legend(loc="lower left")
        out.append((figure_uri(fig), "Precision-recall curve"))
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for row in evaluation.results.get("calibration", []):
            ax.scatter(row["mean_predicted"], row["observed_rate"], s=10 + row["rows"], c="C0")
        rows = evaluation.results.get("calibration", [])
        ax.plot([r["mean_predicted"] for r in rows], [r["observed_rate"] for r in rows], c="C0")
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(
            xlabel="mean predicted probability",
            ylabel="observed positive rate",
            title="Calibration (dot size: rows)",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        out.append((figure_uri(fig), "Calibration"))
    matrix = evaluation.results["confusion"]
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    cells = [[matrix["tn"], matrix["fp"]], [matrix["fn"], matrix["tp"]]]
    ax.imshow(cells, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(cells[i][j]), ha="center", va="center", fontsize=14)
    ax.set(xticks=[0, 1], yticks=[0, 1], xlabel="predicted", ylabel="actual", title="Confusion")
    ax.set_xticklabels(["negative", "positive"])
    ax.set_yticklabels(["negative", "positive"])
    out.append((figure_uri(fig), "Confusion matrix"))
    return out


def evaluation_document(evaluation: Evaluation) -> Document:
    r = evaluation.results
    task = r.get("task", "binary-classification")
    if "positive_class" in r:
        what = (
            f"{r['positives']} with the positive class {r['positive_class']} "
            f"({r.get('positive_class_source', '')})"
        )
    else:
        what = task
    doc = Document(
        f"Evaluation of {r['model']}:{r['version']}",
        f"data {r['data']} · {r['rows']} labelled rows ({what}) · "
        f"95 % percentile bootstrap intervals",
    )
    metrics = doc.section("Metrics")
    metrics.table(["metric", "value", "95 % low", "95 % high"], metric_rows(r["metrics"]))
    for note in r.get("notes", []):
        metrics.text(note)
    if "per_class" in r:
        names = ["precision", "recall", "f1"]
        doc.section("Per class (95 % intervals)").table(
            ["class", "support", *names],
            [
                [label, row["support"], *(fmt_interval(row[n]) for n in names)]
                for label, row in r["per_class"].items()
            ],
        )
    plots = doc.section("Plots")
    for uri, caption in _figures(evaluation):
        plots.image(uri, caption)
    if "thresholds" in r:
        names = ["precision", "recall", "specificity", "f1", "accuracy"]
        doc.section("Threshold analysis (95 % intervals)").table(
            ["threshold", *names, "positive_rate"],
            [
                [
                    row["threshold"],
                    *(
                        fmt_interval(
                            {"value": row[n], "low": row[f"{n}_ci"][0], "high": row[f"{n}_ci"][1]}
                        )
                        for n in names
                    ),
                    row["positive_rate"],
                ]
                for row in r["thresholds"]
            ],
        )
    if "calibration" in r:
        cols = ["bin", "rows", "mean_predicted", "observed_rate"]
        doc.section("Calibration table").table(
            cols, [[row[c] for c in cols] for row in r["calibration"]]
        )
    if "groups" in r:
        section = doc.section(f"By {r['by']}")
        names = list(GROUP_METRICS.get(task, GROUP_METRICS["binary-classification"]))
        rows = []
        for group, g in r["groups"].items():
            row: list[Any] = [group, g["rows"]]
            for name in names:
                m = g["metrics"].get(name, {})
                row.append(fmt_interval(m))
            rows.append(row)
        section.table([r["by"], "rows", *names], rows)
    if "comparison" in r:
        c = r["comparison"]
        section = doc.section(f"Against baseline v{c['baseline']['version']}: {c['verdict']}")
        rows = [
            [
                name,
                d["baseline"],
                d["candidate"],
                d["difference"],
                d["low"],
                d["high"],
                d["p_value"],
            ]
            for name, d in c["differences"].items()
        ]
        section.table(
            [
                "metric",
                "baseline",
                "candidate",
                "difference",
                "95 % low",
                "95 % high",
                "bootstrap p",
            ],
            rows,
        )
        tests = []
        if "mcnemar_accuracy" in c["tests"]:
            mc = c["tests"]["mcnemar_accuracy"]
            tests.append(["McNemar (accuracy)", mc["difference"], mc["p_value"]])
        if "wilcoxon_absolute_error" in c["tests"]:
            wx = c["tests"]["wilcoxon_absolute_error"]
            tests.append(["Wilcoxon (absolute error)", wx["median_difference"], wx["p_value"]])
        if "delong_roc_auc" in c["tests"]:
            dl = c["tests"]["delong_roc_auc"]
            tests.append(["DeLong (ROC-AUC)", dl["difference"], dl["p_value"]])
        section.table(["test", "difference", "p-value"], tests)
    return doc

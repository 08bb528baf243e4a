"""The training effect in a batch's view: a table of every evaluator's metric against the original rows, the
verdict, and a chart of each quality figure against the downstream metric across the batch's experiments."""

from __future__ import annotations

import base64
import io

from synth_assets.evaluation.effect import evaluation_markdown, verdict
from synth_assets.lib.batch_reports.sweep import CHART_METRICS
from synth_assets.lib.batch_reports.view import BatchView


def effect_markdown(view: BatchView) -> str | None:
    rows = [row for m in view.members for row in m.evaluations]
    if not rows:
        return None
    lines = verdict(rows)
    return evaluation_markdown(rows) + ("\n\n" + "\n".join(f"- {line}" for line in lines) if lines else "")


def effect_png(view: BatchView, evaluator: str) -> bytes | None:
    """Each quality figure (x) against the evaluator's metric (y, with its 95 % interval), one point per experiment."""
    points = [(m, row) for m in view.members for row in m.evaluations
              if row["evaluator"] == evaluator and row.get("value") is not None and m.quality]
    if len(points) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CHART_METRICS), figsize=(3 * len(CHART_METRICS), 3.6), dpi=80, sharey=True)
    colours = {m.semantic_name: f"C{i % 10}" for i, (m, _) in enumerate(points)}  # one colour per experiment in every panel
    for ax, metric in zip(axes, CHART_METRICS):
        shown = [(m, m.quality[metric], row) for m, row in points if m.quality.get(metric) is not None]
        for m, x, row in shown:
            low, high = row.get("low"), row.get("high")
            error = [[row["value"] - low], [high - row["value"]]] if low is not None and high is not None else None
            ax.errorbar([x], [row["value"]], yerr=error, fmt="o", capsize=3, color=colours[m.semantic_name], label=m.semantic_name)
        baseline = next((row.get("baseline") for _, _, row in shown if row.get("baseline") is not None), None)
        if baseline is not None:
            ax.axhline(baseline, linestyle="--", linewidth=1, color="grey", label="original rows")
        ax.set_xlabel(metric)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize="x-small")
    axes[0].set_ylabel(f"{evaluator} {points[0][1].get('metric') or ''}")
    fig.suptitle(f"Quality against the training effect ({evaluator})", fontsize="medium")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def effect_chart_markdown(view: BatchView) -> str | None:
    charts = []
    for evaluator in dict.fromkeys(row["evaluator"] for m in view.members for row in m.evaluations):
        png = effect_png(view, evaluator)
        if png is not None:
            charts.append(f"**{evaluator}**\n\n![quality against {evaluator}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")
    return "\n\n".join(charts) or None

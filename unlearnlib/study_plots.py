"""Figures with one purpose each, beside the general ones of :mod:`unlearnlib.plots`: the
primary endpoint per method and dataset (02) and the relearning attack's tested gap (07);
notebook 06's are in :mod:`unlearnlib.tuning_plots`. Failed runs are drawn and marked as
everywhere (:mod:`unlearnlib.plot_marks`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.transforms import blended_transform_factory

from . import plot_marks as marks
from .plots import COLUMN_WIDTH_IN, _zero_if_nan, axis_label, method_style

# -- 02: the primary endpoint ---------------------------------------------------------------


def closer_than_original(versus_original, *, alpha: float = 0.05) -> set:
    """``{(dataset, method)}`` significantly closer to retrain than the untouched original:
    Holm-adjusted p below ``alpha`` and a negative difference (``02_versus_original`` rows)."""
    hits = versus_original[(versus_original.p_adjusted < alpha) & (versus_original.difference < 0)]
    return set(zip(hits.dataset, hits.method))


def primary_endpoint_figure(summary, *, methods: Sequence[str], datasets: Sequence[str], closer: set = frozenset(),
                            metric: str = "avg_gap", title: str = ""):
    """One panel per dataset: each method's mean ``metric`` (the average gap to retrain) with
    ± 1 sd over seeds, the untouched original first and a dotted line at its mean (doing
    nothing), retrain left out (0 by definition, the axis's left end). ``closer`` holds the
    (dataset, method) pairs marked "*": closer than the original by the paired test
    (:func:`closer_than_original`), counted only without failed runs. A method with failed runs
    is drawn hollow, labelled "failed k of n", and does not set the axis scale."""
    shown = [m for m in methods if m != "retrain"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(2 * COLUMN_WIDTH_IN, 0.2 * len(shown) + 1.1), squeeze=False)
    indexed = summary.set_index(["dataset", "method"])
    counts = marks.counts_by(summary, ["dataset", "method"])
    any_failed = clipped = False
    for ax, dataset in zip(axes[0], datasets):
        failing = {m: counts.get((dataset, m), (0, 0))[0] > 0 for m in shown}
        any_failed |= any(failing.values())
        points = {m: (indexed.loc[(dataset, m), f"{metric}_mean"], _zero_if_nan(indexed.loc[(dataset, m), f"{metric}_sd"]))
                  for m in shown if (dataset, m) in indexed.index}
        kept = {m: p for m, p in points.items() if not failing[m]} or points
        limits = marks.limits_of([v for c, h in kept.values() for v in (c - h, c + h)], include=[0.0])
        limits = (0.0, limits[1])  # a gap is never negative: the axis starts at retrain's 0
        for y, method in enumerate(shown):
            if method in points:
                mean, sd = points[method]
                style = method_style(method)
                marks.draw_point(ax, y, mean, max(mean - sd, 0.0), mean + sd, color=style["color"], marker=style["marker"],
                                 limits=limits, failed=failing[method], bold=method == "original")
                clipped |= marks.any_clipped([mean + sd], limits)
        if "original" in points:
            ax.axvline(points["original"][0], color="0.4", linestyle=":", linewidth=0.9)
        ax.set_xlim(limits)
        labels = [marks.failed_label(m, *counts.get((dataset, m), (0, None))) + (" *" if (dataset, m) in closer and not failing[m] else "")
                  for m in shown]
        ax.set_yticks(range(len(shown)), labels)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        marks.color_failed_ticks(ax, [failing[m] for m in shown])
        ax.set_title(dataset, fontsize=8)
        ax.set_xlabel(f"{axis_label(metric)}\n(0: retrain; dotted: the untouched original)")
        ax.grid(axis="x", color="0.92", linewidth=0.5)
    fig.suptitle((f"{title}; " if title else "") + "point: mean, bar: ± 1 sd over seeds; * closer than the original (Holm p < 0.05)",
                 fontsize=8)
    fig.tight_layout()
    if any_failed or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


# -- 07: the relearning attack --------------------------------------------------------------

VERDICT_WORDS = {"survives relearning": "survives", "recovers under relearning": "recovers", "inconclusive": "inconclusive",
                 "below retrain after relearning": "below retrain", "too few seeds": "too few seeds"}


def relearning_figure(summary, *, datasets: Sequence[str], margin: float, failing: Mapping | None = None, title: str = ""):
    """One row per dataset, the original and retrain first, then each method. Left: forget
    accuracy after unlearning (grey dot) and after the relearning attack (the method's marker),
    an arrow between them. Right, what is tested: relearned forget accuracy minus the relearned
    retrain's, mean paired over seeds with its 95 % t-interval, the shaded band the declared
    margin, the verdict written at the right. ``summary``: ``relearn.relearning_table`` rows;
    ``failing``: {(dataset, method): (failed runs, runs)} of the unlearning runs attacked
    (hollow, labelled, not setting the right panel's scale)."""
    failing = dict(failing or {})
    order = ["original", "retrain"]
    fig, axes = plt.subplots(len(datasets), 2, figsize=(2 * COLUMN_WIDTH_IN, 0.19 * 13 * len(datasets) + 1.0), squeeze=False,
                             sharey="row", gridspec_kw={"width_ratios": [1, 1.15]})
    clipped = False
    for (left, right), dataset in zip(axes, datasets):
        part = summary[summary.dataset == dataset].set_index("method")
        methods = [m for m in order if m in part.index] + [m for m in part.index if m not in order]
        bad = {m: failing.get((dataset, m), (0, 0))[0] > 0 for m in methods}
        for y, method in enumerate(methods):
            row, style = part.loc[method], method_style(method)
            face = "white" if bad[method] else style["color"]
            left.annotate("", xy=(row.relearn_forget_acc, y), xytext=(row.forget_acc_before, y),
                          arrowprops={"arrowstyle": "-|>", "color": style["color"], "linewidth": 0.8, "shrinkA": 2, "shrinkB": 3,
                                      "mutation_scale": 6})
            left.plot(row.forget_acc_before, y, "o", color="0.55", markersize=3)
            left.plot(row.relearn_forget_acc, y, style["marker"], color=style["color"], markerfacecolor=face, markersize=4.5)
        left.set_xlabel("forget accuracy\ngrey dot: after unlearning\nmarker: after the attack")
        ticks = [marks.failed_label(m, *failing.get((dataset, m), (0, None))) for m in methods]
        left.set_yticks(range(len(methods)), ticks)
        left.set_ylim(len(methods) - 0.5, -0.5)
        left.set_ylabel(dataset)
        marks.color_failed_ticks(left, [bad[m] for m in methods])
        ends = {m: (part.loc[m, "ci_low"], part.loc[m, "ci_high"]) for m in methods}
        kept = [v for m, e in ends.items() if not bad[m] for v in e]
        limits = marks.limits_of(kept, include=[-margin, margin])
        right.axvspan(-margin, margin, color="0.9", linewidth=0)
        right.axvline(0, color="0.5", linestyle="--", linewidth=0.8)
        text_at = blended_transform_factory(right.transAxes, right.transData)
        for y, method in enumerate(methods):
            row, style = part.loc[method], method_style(method)
            marks.draw_point(right, y, row.difference, row.ci_low, row.ci_high, color=style["color"], marker=style["marker"],
                             limits=limits, failed=bad[method])
            clipped |= marks.any_clipped([row.difference, row.ci_low, row.ci_high], limits)
            word = "0 by construction" if method == "retrain" else VERDICT_WORDS.get(row.verdict, row.verdict)
            right.text(1.02, y, word, transform=text_at, fontsize=5.5, va="center", ha="left")
        right.set_xlim(limits)
        right.set_xlabel(f"relearned forget accuracy\nminus the relearned retrain's\n(shaded: ± {margin:g}: survives inside)")
    fig.suptitle((f"{title}; " if title else "") + "right: mean paired over seeds, bar: 95 % t-interval", fontsize=8)
    fig.tight_layout()
    if any(v[0] > 0 for v in failing.values()) or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


def failing_by(results, keys: Sequence[str] = ("dataset", "method")) -> dict:
    """``{key: (failed runs, runs)}`` of experiment rows that carry ``failed`` (``failures.with_damage``)."""
    from .failures import failure_counts

    counts = failure_counts(results, by=list(keys))
    return marks.counts_by(counts, list(keys), runs_column="runs")



# -- 07: forgetting quality -----------------------------------------------------------------


def forgetting_quality_figure(quality, *, title: str, n_models: int):
    """Each method's forgetting quality relative to independent retrains (``fq_run`` rows:
    method, relative_to_retrain, ci_low, ci_high), the estimate as a point and its 95 %
    interval as a line (none for retrain: 1 by construction), a dashed line at 1."""
    methods = list(quality["method"])
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 0.22 * len(methods) + 0.7))
    for y, row in enumerate(quality.itertuples()):
        style = method_style(row.method)
        if row.ci_low == row.ci_low:
            ax.hlines(y, row.ci_low, row.ci_high, color=style["color"], linewidth=1)
        ax.plot(row.relative_to_retrain, y, style["marker"], color=style["color"], markersize=4)
    ax.axvline(1, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(methods)), methods)
    ax.set_ylim(len(methods) - 0.5, -0.5)
    ax.set_title(f"{title}; point: estimate, line: 95 % interval", fontsize=8)
    ax.set_xlabel(f"forgetting quality relative to independent retrains\n(N = {n_models} models per side; half-sample 95 % CI; "
                  "retrain is 1 by construction)")
    return fig

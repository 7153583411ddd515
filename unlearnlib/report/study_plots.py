"""Figures with one purpose each, beside the general ones of :mod:`unlearnlib.report.plots`: the
primary endpoint per method and dataset (02) and what the relearning attack changes (07);
notebook 06's are in :mod:`unlearnlib.report.tuning_plots`. Failed runs are drawn and marked as
everywhere (:mod:`unlearnlib.report.plot_marks`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
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
                            metric: str = "avg_gap", title: str = "", bands: Mapping[str, float] | None = None):
    """One panel per dataset: each method's mean ``metric`` (the average gap to retrain) with
    ± 1 sd over seeds, the untouched original first and a dotted line at its mean (doing
    nothing), retrain left out (0 by definition, the axis's left end). ``closer`` holds the
    (dataset, method) pairs marked "*": closer than the original by the paired test
    (:func:`closer_than_original`), counted only without failed runs. A method with failed runs
    is drawn hollow, labelled "failed k of n", and does not set the axis scale. ``bands``
    (dataset -> the noise floor's margin of ``metric``) shades [0, margin]: as close to retraining
    as a second retrain is."""
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
        band = (bands or {}).get(dataset)
        limits = marks.limits_of([v for c, h in kept.values() for v in (c - h, c + h)], include=[0.0] if band is None else [0.0, band])
        limits = (0.0, limits[1])  # a gap is never negative: the axis starts at retrain's 0
        if band is not None:
            ax.axvspan(0.0, band, color="0.9", linewidth=0, zorder=0)
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
        ax.set_xlabel(f"{axis_label(metric)}\n(0: retrain; dotted: the untouched original"
                      + ("; shaded: a second retrain's" if band is not None else "") + ")")
        ax.grid(axis="x", color="0.92", linewidth=0.5)
    fig.suptitle((f"{title}; " if title else "") + "point: mean, bar: ± 1 sd over seeds; * closer than the original (Holm p < 0.05)",
                 fontsize=8)
    fig.tight_layout()
    if any_failed or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


# -- 07: the relearning attack --------------------------------------------------------------

K_MARKERS = ("o", "s", "^", "D", "v")  # one per k (forget images in the attack set), in increasing k
VERDICT_WORDS = {"recovers more than retraining": "more", "changes like retraining": "like retrain",
                 "recovers less than retraining": "less", "undetermined": "?", "reference (0 by construction)": "0"}


def relearning_change_figure(table, *, datasets: Sequence[str], margin: float | Mapping[str, float], failing: Mapping | None = None,
                             title: str = ""):
    """One panel per dataset, the original and retrain first, then each method; per method one
    point per k (forget images in the attack set; marker and offset by k): the excess change (the
    attack's change in the method's forget accuracy minus the retrain's, on the forget images the
    attack did not see), mean paired over seeds with its 95 % t-interval; retrain at 0 by
    construction, the shaded band the margin, the verdict's word at the right. ``table``:
    ``relearn_verdict.relearning_change_table`` rows; ``failing``: {(dataset, method): (failed
    runs, runs)} of the unlearning runs attacked. A method with failed runs (those, or attacks that
    did not finish: the table's ``failed_runs``) is drawn hollow with a dashed bar, labelled
    "failed k of n", and does not set the scale."""
    failing = dict(failing or {})
    ks = sorted(int(k) for k in table["k_forget"].unique())
    offsets = [0.0] if len(ks) == 1 else [-0.27 + 0.54 * i / (len(ks) - 1) for i in range(len(ks))]
    order = ["original", "retrain"]
    n_methods = table.groupby("dataset")["method"].nunique().max()
    fig, axes = plt.subplots(1, len(datasets), figsize=(2 * COLUMN_WIDTH_IN, 0.11 * len(ks) * n_methods + 1.2), squeeze=False)
    clipped = any_failed = False
    margins = margin if isinstance(margin, Mapping) else {d: margin for d in datasets}  # one per dataset: its noise floor
    for ax, dataset in zip(axes[0], datasets):
        margin = margins[dataset]
        part = table[table.dataset == dataset].set_index(["method", "k_forget"])
        names = list(dict.fromkeys(part.index.get_level_values(0)))
        methods = [m for m in order if m in names] + [m for m in names if m not in order]
        counts = {}
        for m in methods:
            unlearning = failing.get((dataset, m), (0, 0))
            attack = part.loc[m]
            counts[m] = unlearning if unlearning[0] > 0 else (int(attack["failed_runs"].sum()), int(attack["runs"].sum()))
        bad = {m: counts[m][0] > 0 for m in methods}
        any_failed |= any(bad.values())
        kept = [v for (m, _), r in part.iterrows() if not bad[m] for v in (r.ci_low, r.ci_high, r.excess_change)]
        limits = marks.limits_of(kept, include=[-margin, margin])
        ax.axvspan(-margin, margin, color="0.9", linewidth=0)
        ax.axvline(0, color="0.5", linestyle="--", linewidth=0.8)
        text_at = blended_transform_factory(ax.transAxes, ax.transData)
        for y, method in enumerate(methods):
            color = method_style(method)["color"]
            for i, (k, offset) in enumerate(zip(ks, offsets)):
                if (method, k) not in part.index:
                    continue
                row = part.loc[(method, k)]
                marks.draw_point(ax, y + offset, row.excess_change, row.ci_low, row.ci_high, color=color, marker=K_MARKERS[i % len(K_MARKERS)],
                                 limits=limits, failed=bad[method], size=3)
                clipped |= marks.any_clipped([row.excess_change, row.ci_low, row.ci_high], limits)
                ax.text(1.01, y + offset, VERDICT_WORDS.get(row.verdict, row.verdict), transform=text_at, fontsize=5, va="center")
        ax.set_yticks(range(len(methods)), [marks.failed_label(m, *counts[m]) for m in methods], fontsize=6)
        ax.set_ylim(len(methods) - 0.5, -0.5)
        marks.color_failed_ticks(ax, [bad[m] for m in methods])
        ax.set_xlim(limits)
        ax.set_title(dataset, fontsize=8)
        ax.set_xlabel(f"excess change in forget accuracy\n(method minus retrain; shaded: ± {margin:g})", fontsize=7)
    handles = [Line2D([], [], color="0.3", marker=K_MARKERS[i % len(K_MARKERS)], linestyle="none", markersize=4,
                      label=f"k = {k} forget images in the attack") for i, k in enumerate(ks)]
    fig.suptitle((f"{title}; " if title else "") + "point: mean paired over seeds, bar: 95 % t-interval; right: verdict", fontsize=8)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.95), ncol=len(ks), frameon=False, fontsize=6)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    if any_failed or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


def failing_by(results, keys: Sequence[str] = ("dataset", "method")) -> dict:
    """``{key: (failed runs, runs)}`` of experiment rows that carry ``failed`` (``failures.with_damage``)."""
    from ..evaluation.failures import failure_counts

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


# -- 07: per-example attacks ------------------------------------------------------------------


def per_example_roc_figure(roc, *, datasets: Sequence[str], attacks: Mapping[str, str], failing: Mapping | None = None, title: str = ""):
    """One log-log ROC panel per dataset (``per_example_verdict.mean_roc`` rows: dataset, method,
    fpr, tpr): each method's TPR averaged over seeds at each FPR, the original and retrain drawn
    thick (the calibration: far above and at chance), the diagonal dotted (chance). A method with
    failed runs (``failing``: {(dataset, method): (failed, runs)}) is drawn dashed and labelled."""
    failing = dict(failing or {})
    fig, axes = plt.subplots(1, len(datasets), figsize=(2 * COLUMN_WIDTH_IN, 2.9), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = roc[roc.dataset == dataset]
        floor = float(part["fpr"].min()) if len(part) else 1e-3
        ax.plot([floor, 1], [floor, 1], color="0.6", linestyle=":", linewidth=0.8)
        for method, curve in part.groupby("method", sort=False):
            style = method_style(method)
            bad = failing.get((dataset, method), (0, 0))
            label = method if bad[0] == 0 else marks.failed_label(method, *bad)
            ax.plot(curve["fpr"], curve["tpr"].clip(lower=floor), color=style["color"], marker=style["marker"], markersize=2.5,
                    linewidth=1.6 if method in ("original", "retrain") else 0.8, linestyle="--" if bad[0] else "-", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(floor, 1)
        ax.set_ylim(floor, 1.05)
        ax.set_title(f"{dataset}: {attacks.get(dataset, '')}", fontsize=8)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig

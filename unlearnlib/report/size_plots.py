"""Notebook 03's figures: the forget-set size curves with the retrain's drop (finding 3), and
test accuracy under the two tunings. Failed runs are marked as everywhere
(:mod:`unlearnlib.report.plot_marks`): hollow points at the sizes where runs failed, "failed k of n" in
red, and a method with failed runs never sets a shared scale."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from . import plot_marks as marks
from .plots import COLUMN_WIDTH_IN, METRIC_LABELS, axis_label, method_style, off_scale


def forget_size_figure(summary, drops, *, methods, metrics, reference: str = "retrain", title: str):
    """Finding 3 at a glance. Top: each method's test-accuracy drop from the smallest to the
    largest forget set (``drops``: ``report.paired_difference`` rows) with its 95 % t-interval,
    ``reference`` drawn first and bold; an interval far wider than the others' is clipped at the
    axis edge, marked with an arrow and its numbers. Below: small multiples, one column per
    method and one row per metric, mean ± sd over seeds against the forget-set size (ticks at
    the sizes), the reference's mean as a dashed line in every facet; a method whose curve
    would stretch the row's shared axis gets its own y scale, said in its facet. Failed runs
    (``summary``'s ``failed_runs`` of ``n`` per size): hollow points at those sizes, the facet
    titled "failed k of n" in red; such a method's curve is left out of the row's shared scale
    (drawn on it, a mean beyond it is a triangle at the edge), and in the top panel its drop is
    dashed, labelled, and clipped rather than setting the axis."""
    fractions = sorted(summary.scenario_fraction.unique())
    positions = range(len(fractions))  # evenly spaced sizes: 1 % and 2 % stay readable beside 50 %
    fig = plt.figure(figsize=(2 * COLUMN_WIDTH_IN, 1.5 + 0.16 * len(methods) + 1.1 * len(metrics)), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[0.16 * len(methods) + 0.9, 1.1 * len(metrics)])
    by = summary.set_index(["method", "scenario_fraction"])
    failed_at = {m: [f for f in fractions if (m, f) in by.index and by.loc[(m, f)].get("failed_runs", 0) > 0] for m in methods}
    totals = {m: (int(summary.loc[summary.method == m, "failed_runs"].sum()) if "failed_runs" in summary else 0,
                  int(summary.loc[summary.method == m, "n"].sum())) for m in methods}
    ends = {m: (sum(int(by.loc[(m, f)].get("failed_runs", 0)) for f in (fractions[0], fractions[-1]) if (m, f) in by.index),
                sum(int(by.loc[(m, f), "n"]) for f in (fractions[0], fractions[-1]) if (m, f) in by.index)) for m in methods}
    _drop_panel(upper.subplots(), drops, methods=methods, reference=reference, fractions=fractions, failing=ends)
    axes = lower.subplots(len(metrics), len(methods), squeeze=False)

    def curve(method, metric, stat):
        return [by.loc[(method, f), f"{metric}_{stat}"] if (method, f) in by.index else float("nan") for f in fractions]

    for r, metric in enumerate(metrics):
        ranges = {}
        for method in methods:
            means, sds = curve(method, metric, "mean"), [0 if s != s else s for s in curve(method, metric, "sd")]
            ranges[method] = (min(m - s for m, s in zip(means, sds)), max(m + s for m, s in zip(means, sds)))
        own = off_scale(ranges)
        shared = [ranges[m] for m in methods if m not in own and not totals[m][0]] or [ranges[m] for m in methods if m not in own]
        low, high = min(l for l, _ in shared), max(h for _, h in shared)
        span = high - low or 1.0
        for c, method in enumerate(methods):
            ax, style = axes[r][c], method_style(method)
            sds = [0 if s != s else s for s in curve(method, metric, "sd")]
            ax.errorbar(positions, curve(method, metric, "mean"), yerr=sds, color=style["color"], marker=style["marker"],
                        markersize=3, linewidth=1.6 if method == reference else 0.9, capsize=1.5)
            if failed_at[method]:  # hollow where runs failed
                where = [fractions.index(f) for f in failed_at[method]]
                ax.plot(where, [curve(method, metric, "mean")[i] for i in where], style["marker"], color=style["color"], markersize=3.5,
                        markerfacecolor="white", linestyle="none", zorder=3)
            if method != reference:
                ax.plot(positions, curve(reference, metric, "mean"), color="0.5", linestyle="--", linewidth=0.8)
            ax.set_xticks(list(positions), [f"{f * 100:g}" for f in fractions], fontsize=5, rotation=90)
            ax.tick_params(axis="y", labelsize=5)
            name = method if r == 0 else ""
            if r == 0 and totals[method][0]:
                name = f"{method}\nfailed {totals[method][0]} of {totals[method][1]}"
            if method in own:
                ax.set_title(f"{name}\n(own y scale)".strip(), fontsize=6 if r else 7,
                             color=marks.FAILED_COLOR if r == 0 and totals[method][0] else "black")
            else:
                ax.set_ylim(low - 0.05 * span, high + 0.05 * span)
                _mark_beyond(ax, positions, curve(method, metric, "mean"), (low - 0.05 * span, high + 0.05 * span), style)
                ax.set_title(name, fontsize=7 if not totals[method][0] else 6, fontweight="bold" if method == reference else "normal",
                             color=marks.FAILED_COLOR if r == 0 and totals[method][0] else "black")
                if c > 0:
                    ax.tick_params(axis="y", labelleft=False)
            if c == 0:
                ax.set_ylabel(axis_label(metric).replace(" (", "\n("), fontsize=6)
    hollow = "; hollow: a size with failed runs" if any(failed_at.values()) else ""
    lower.supxlabel(f"forget set (% of train); point: mean, bar: ± 1 sd over seeds; dashed: {reference}'s mean{hollow}", fontsize=6)
    fig.suptitle(title, fontsize=8)
    return fig


def _mark_beyond(ax, positions, means, limits: tuple[float, float], style: dict) -> None:
    """A hollow triangle at the top or bottom edge where a mean lies beyond ``limits``."""
    for x, m in zip(positions, means):
        if m == m and not limits[0] <= m <= limits[1]:
            ax.plot(x, limits[1] if m > limits[1] else limits[0], "^" if m > limits[1] else "v", color=style["color"],
                    markerfacecolor="white", markersize=3.5, clip_on=False, zorder=3)


def _drop_panel(ax, drops, *, methods, reference: str, fractions, failing: Mapping | None = None) -> None:
    """Each method's drop with its 95 % interval, the reference first and bold; an interval far
    wider than the others', or of a method with failed runs at the two ends (``failing``:
    {method: (k, n)}; dashed, labelled), does not set the axis: it is clipped at the axis edge,
    with arrows and its numbers."""
    failing = {m: kn for m, kn in (failing or {}).items() if kn[0]}
    shown = [reference, *[m for m in methods if m != reference]]
    rows = drops.set_index("method")
    wide = off_scale({m: (rows.loc[m, "ci_low"], rows.loc[m, "ci_high"]) for m in shown if m in rows.index}) | set(failing)
    kept = [m for m in shown if m in rows.index and m not in wide]
    # The axis spans the finite ends only: with one seed (smoke runs) there are no intervals.
    ends = rows.loc[kept, ["ci_low", "ci_high", "difference"]].to_numpy(dtype=float).ravel()
    ends = ends[np.isfinite(ends)]
    low, high = (min(ends.min(), 0.0), max(ends.max(), 0.0)) if ends.size else (-1.0, 1.0)
    pad = 0.08 * (high - low or 1.0)
    low, high = low - pad, high + pad
    for y, method in enumerate(shown):
        if method not in rows.index:
            continue
        row, style = rows.loc[method], method_style(method)
        bold = method == reference
        bad = method in failing
        ax.hlines(y, max(row.ci_low, low), min(row.ci_high, high), color=style["color"], linewidth=2.2 if bold else 1.0,
                  linestyles="--" if bad else "-")
        ax.plot(min(max(row.difference, low), high), y, style["marker"], color=style["color"], markersize=6 if bold else 4,
                markerfacecolor="white" if bad else style["color"])
        clipped = row.ci_low < low or row.ci_high > high or not low <= row.difference <= high
        if method in wide and clipped:  # clipped: arrows at the cut ends, the true numbers beside
            if row.ci_low < low:
                ax.plot(low, y, "<", color=style["color"], markersize=4)
            if row.ci_high > high:
                ax.plot(high, y, ">", color=style["color"], markersize=4)
            ax.annotate(f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]\n(interval clipped)", (high, y), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=6, color=style["color"], annotation_clip=False)
    ax.axvline(0, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_xlim(low, high)
    ax.set_yticks(range(len(shown)), [marks.failed_label(m, *failing.get(m, (0, None))) for m in shown])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.get_yticklabels()[0].set_fontweight("bold")
    marks.color_failed_ticks(ax, [m in failing for m in shown])
    ax.set_xlabel(f"test-accuracy drop, {fractions[0]:.0%} minus {fractions[-1]:.0%} of train (> 0: accuracy lost)\n"
                  "point: mean paired over seeds, bar: 95 % t-interval")


def tuning_transfer_figure(arms: Sequence[tuple], *, methods: Sequence[str], majority: float, fractions: Sequence[float], seeds: int,
                           title: str):
    """Test accuracy against the forget-set size (log axis, a tick at every size), one panel per
    tuning (``arms``: (runs, panel title) pairs of ledger rows with ``failed``), one line per
    method: mean ± 1 sd over seeds, retrain bold; a dotted line at the majority-class rate.
    Failed runs: hollow points at the sizes where a method's runs failed, the methods listed
    "failed k of n" in red under each panel's title; the y-axis spans the methods without
    failed runs (and the majority rate), a point beyond it is a triangle at the edge with its value."""
    ticks = [f * 100 for f in fractions]
    fig, axes = plt.subplots(1, len(arms), figsize=(1.4 * COLUMN_WIDTH_IN, 2.6), sharey=True, squeeze=False)
    curves = [rows.groupby(["method", "scenario_fraction"]).agg(mean=("test_acc", "mean"), std=("test_acc", "std"),
                                                                  failed=("failed", "sum"), n=("failed", "size")).reset_index()
              for rows, _ in arms]
    failing = [set(c.loc[c.failed > 0, "method"]) for c in curves]
    kept = [v for c, bad in zip(curves, failing) for r in c[~c.method.isin(bad) & c.method.isin(methods)].itertuples()
            for v in (r.mean - (0 if r.std != r.std else r.std), r.mean + (0 if r.std != r.std else r.std))]
    limits = marks.limits_of(kept, include=[majority], pad=0.05)
    for ax, (rows, label), curve, bad in zip(axes[0], arms, curves, failing):
        for method in methods:
            part, style = curve[curve.method == method], method_style(method)
            x, mean = part.scenario_fraction.to_numpy() * 100, part["mean"].to_numpy()
            ax.errorbar(x, mean, yerr=part["std"].fillna(0), label=method, color=style["color"], marker=style["marker"], markersize=3,
                        linewidth=1.8 if method == "retrain" else 0.9, capsize=2, linestyle="--" if method in bad else "-")
            hollow = part.failed.to_numpy() > 0
            ax.plot(x[hollow], mean[hollow], style["marker"], color=style["color"], markerfacecolor="white", markersize=3.5,
                    linestyle="none", zorder=3)
            for xi, m in zip(x, mean):
                if not limits[0] <= m <= limits[1]:
                    edge = limits[0] if m < limits[0] else limits[1]
                    ax.plot(xi, edge, "v" if m < limits[0] else "^", color=style["color"], markerfacecolor="white", markersize=4,
                            clip_on=False, zorder=3)
                    ax.annotate(f"{m:.2f}", (xi, edge), xytext=(3, 3 if m < limits[0] else -8), textcoords="offset points",
                                fontsize=5, color=style["color"])
        ax.axhline(majority, color="0.5", linestyle=":", linewidth=0.8, label="majority-class rate")
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=6)
        ax.minorticks_off()
        counts = curve[curve.method.isin(bad)].groupby("method", sort=False)[["failed", "n"]].sum()
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("\n".join(f"{m}: failed {int(r.failed)} of {int(r.n)}" for m, r in counts.iterrows()), fontsize=5.5,
                      color=marks.FAILED_COLOR)
    axes[0][0].set_ylim(limits)
    axes[0][0].set_ylabel(f"{METRIC_LABELS['test_acc']}\n(point: mean, bar: ± 1 sd over {seeds} seeds)")
    axes[0][-1].legend(frameon=False, fontsize=6, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.suptitle(title, fontsize=8)
    fig.supxlabel("forget set (% of train, log axis); hollow, dashed: failed runs", fontsize=7)
    fig.tight_layout()
    return fig

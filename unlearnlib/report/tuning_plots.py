"""Notebook 06's figures: what each method costs in time (failed runs marked), and every tuning
trial, the failed ones in their own strip and the chosen one ringed (:mod:`unlearnlib.report.plot_marks`)."""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter

from . import plot_marks as marks
from .plots import COLUMN_WIDTH_IN, METRIC_LABELS, OKABE_ITO, method_style

# -- 06: every tuning trial -----------------------------------------------------------------


def trial_points(row) -> dict:
    """A tuning row's trials split for drawing: ``ok`` and ``failed`` (failed or diverged:
    every status but "ok") as lists of (params, gap), and ``chosen``: the params of the trial
    whose settings were kept (``best_params``)."""
    trials = json.loads(row["trials"]) if isinstance(row["trials"], str) else list(row["trials"])
    best = json.loads(row["best_params"]) if isinstance(row["best_params"], str) else dict(row["best_params"])
    ok = [(t["params"], t["value"]) for t in trials if t.get("status", "ok") == "ok"]
    failed = [(t["params"], t.get("gap")) for t in trials if t.get("status", "ok") != "ok"]
    diverged = sum(str(t.get("status", "")).startswith("diverged") for t in trials)
    return {"ok": ok, "failed": failed, "diverged": diverged, "chosen": best, "n": len(trials)}


def knob_of(method: str) -> tuple[str, tuple]:
    """The hyper-parameter a method's sensitivity is drawn against: its learning rate, else its
    first searched field; with that field's search-space entry."""
    from ..algorithms import get_method

    space = get_method(method).hyperparameters.search_space
    knob = "lr" if "lr" in space else next(iter(space))
    return knob, space[knob]


def _log_ticks(ax, low: float, high: float) -> None:
    """At most four labelled ticks on a log x-axis: the powers of ten inside [low, high], or
    its ends and middle when fewer than two are; minor ticks unlabelled (they collided)."""
    powers = [k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1) if low * 0.999 <= 10.0 ** k <= high * 1.001]
    if len(powers) >= 2:
        powers = powers[:: math.ceil(len(powers) / 4)]
        ticks, labels = [10.0 ** k for k in powers], [f"$10^{{{k}}}$" for k in powers]
    else:
        ticks = [low, math.sqrt(low * high), high]
        labels = [f"{t:.1g}" for t in ticks]
    ax.set_xticks(ticks, labels)
    ax.xaxis.set_minor_formatter(NullFormatter())


def tuning_trials_figure(tuning, *, methods: Sequence[str], title: str, columns: int = 4):
    """One panel per method: every tuning trial's validation gap to retrain (lower is better)
    against the method's learning rate (or first searched field), x-axis over the search
    range. Trials that failed (failure rule on the validation split) or diverged have no gap
    the tuning used: they are drawn as red crosses in a strip above the axis, labelled
    "failed", at their setting; the y-axis spans the passing trials only. The chosen trial
    (``best_params``) is ringed. ``tuning``: one tuning row per method (``study.tuning_records``)."""
    rows = int(math.ceil(len(methods) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2 * COLUMN_WIDTH_IN, 1.55 * rows + 0.4), squeeze=False)
    indexed = tuning.set_index("method")
    for ax, method in zip(axes.flat, methods):
        _trials_panel(ax, method, indexed.loc[method])
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    fig.supylabel("validation gap to retrain (lower is better)", fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    handles = [Line2D([], [], color="0.3", marker="o", linestyle="none", markersize=3.5, label="trial that passed (its gap)"),
               Line2D([], [], color=marks.FAILED_COLOR, marker="x", linestyle="none", markersize=4,
                      label="failed or diverged trial, in the 'failed' strip (no gap used)"),
               Line2D([], [], color="black", marker="o", markerfacecolor="none", linestyle="none", markersize=8,
                      label="chosen trial (its settings are served)")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False, fontsize=6)
    return fig


def _trials_panel(ax, method: str, row) -> None:
    knob, space = knob_of(method)
    points, style = trial_points(row), method_style(method)
    ok_x = [p[knob] for p, _ in points["ok"]]
    ok_y = [v for _, v in points["ok"]]
    low, high = (min(ok_y), max(ok_y)) if ok_y else (0.0, 1.0)
    span = (high - low) or max(abs(high), 1e-3) * 0.2
    bottom, top = low - 0.08 * span, high + 0.08 * span
    strip = top + 0.22 * span  # failed trials' row, above a dotted rule at the data's top
    if ok_y:
        ax.scatter(ok_x, ok_y, color=style["color"], marker=style["marker"], s=12, zorder=2)
    failed_x = [p[knob] for p, _ in points["failed"]]
    if failed_x:
        ax.scatter(failed_x, [strip] * len(failed_x), color=marks.FAILED_COLOR, marker="x", s=14, linewidths=0.9, zorder=2)
    chosen = next(((p[knob], v) for p, v in points["ok"] if p == points["chosen"]), None)
    if chosen is None:
        chosen = next(((p[knob], strip) for p, _ in points["failed"] if p == points["chosen"]), None)
    if chosen is not None:
        ax.plot(*chosen, "o", markerfacecolor="none", markeredgecolor="black", markersize=8, markeredgewidth=0.9, zorder=3, clip_on=False)
    ax.axhline(top + 0.11 * span, color="0.6", linestyle=":", linewidth=0.7)
    ax.set_ylim(bottom, strip + 0.11 * span)
    locator = MaxNLocator(3)
    ticks = [t for t in locator.tick_values(low, high) if bottom <= t <= top]
    ax.set_yticks([*ticks, strip], [f"{t:.3g}" for t in ticks] + ["failed"])
    ax.get_yticklabels()[-1].set_color(marks.FAILED_COLOR)
    kind, lo, hi = space[0], space[1], space[2] if len(space) > 2 else None
    if kind == "logfloat":
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.3, hi * 1.3)
        _log_ticks(ax, lo, hi)
    elif kind in ("float", "int"):
        pad = 0.05 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
        ax.xaxis.set_major_locator(MaxNLocator(3, integer=kind == "int"))
    ax.tick_params(labelsize=6)
    ax.set_xlabel(knob, fontsize=6, labelpad=1)
    n_failed = len(points["failed"])
    ax.set_title(f"{method}\n" + (f"failed {n_failed} of {points['n']}" if n_failed else f"{points['n']} trials, none failed"),
                 fontsize=6.5, color=marks.FAILED_COLOR if n_failed else "black")


def trial_counts(tuning) -> dict[str, tuple[int, int]]:
    """``{method: (failed or diverged trials, trials)}`` of tuning rows, for a caption."""
    out = {}
    for row in tuning.itertuples():
        points = trial_points({"trials": row.trials, "best_params": row.best_params})
        out[row.method] = (len(points["failed"]), points["n"])
    return out


def describe_trial_counts(counts: Mapping[str, tuple[int, int]]) -> str:
    """``"ssd 3 of 20, boundary_shrink 18 of 20"`` for the methods with failed trials, or ``"none"``."""
    failing = [f"{m} {k} of {n}" for m, (k, n) in counts.items() if k]
    return ", ".join(failing) if failing else "none"


# -- what each method costs in time ---------------------------------------------------------


def efficiency_figure(timing, *, methods: Sequence[str], datasets: Sequence[str], failing: Mapping | None = None, title: str):
    """Wall time (left) and run-time efficiency (retrain's time over the method's, right) of each
    method, one point per dataset (mean, ± 1 sd over seeds, the bar cut at zero on the log axis);
    points, not bars: a bar's length means nothing on a log axis. A method with failed runs on a
    dataset (``failing``: {(dataset, method): (k, n)}) is drawn hollow there and its label says
    where; its times are as measured (failing does not change what a run costs)."""
    failing = dict(failing or {})
    fig, axes = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH_IN, 0.2 * len(methods) + 1.1), sharey=True)
    for ax, metric in zip(axes, ("seconds", "rte")):
        for i, dataset in enumerate(datasets):
            part = timing[timing.dataset == dataset].set_index("method").reindex(methods)
            mean, sd = part[f"{metric}_mean"].to_numpy(dtype=float), part[f"{metric}_sd"].fillna(0).to_numpy(dtype=float)
            y = np.arange(len(methods)) + (i - 0.5) * 0.3
            ax.errorbar(mean, y, xerr=[np.minimum(sd, mean * 0.999), sd], fmt="none", ecolor=OKABE_ITO[i + 1], capsize=1.5, linewidth=0.9)
            bad = np.array([failing.get((dataset, m), (0, 0))[0] > 0 for m in methods])
            for hollow, label in ((False, dataset), (True, None)):
                chosen = bad == hollow
                ax.plot(mean[chosen], y[chosen], "os"[i % 2], color=OKABE_ITO[i + 1], markersize=3.5, linestyle="none",
                        markerfacecolor="white" if hollow else OKABE_ITO[i + 1], label=label)
        ax.set_xscale("log")
        ax.set_xlabel(f"{METRIC_LABELS[metric]} (log axis)")
        ax.grid(axis="x", color="0.9", linewidth=0.5)
    labels = [m + (" (failed " + ", ".join(f"{failing[(d, m)][0]} of {failing[(d, m)][1]} on {d}" for d in datasets
                                           if failing.get((d, m), (0, 0))[0]) + ")" if any(failing.get((d, m), (0, 0))[0] for d in datasets) else "")
              for m in methods]
    axes[0].set_yticks(range(len(methods)), labels)
    axes[0].set_ylim(len(methods) - 0.5, -0.5)
    marks.color_failed_ticks(axes[0], ["failed" in label for label in labels])
    axes[1].axvline(1, color="0.5", linestyle="--", linewidth=0.8)
    handles, names = axes[0].get_legend_handles_labels()
    if any("failed" in label for label in labels):
        handles.append(Line2D([], [], color="0.3", marker="o", markerfacecolor="white", linestyle="none", markersize=3.5))
        names.append("hollow: that dataset's runs include failed ones")
    fig.legend(handles, names, loc="upper center", ncol=len(names), frameon=False, bbox_to_anchor=(0.5, 0.99))
    fig.suptitle(title, fontsize=8, y=1.06)
    fig.tight_layout()
    return fig

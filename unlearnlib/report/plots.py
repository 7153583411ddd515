"""The study's figure style: one colour and marker per method in every figure
(Okabe-Ito, colour-blind safe), sized for a paper column, saved as PNG and PDF."""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt

from . import plot_marks as marks
from ..evaluation.metrics import METRIC_LABELS  # declared once, in metrics.METRICS
from ..paths import figures_dir

OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]

# One colour and one marker per method, fixed, so a method looks the same in every figure.
# The Okabe-Ito colours (colour-blind safe) go to the most-shown methods; with 13 methods
# some colours are less distinct, so each method also has its own marker.
METHOD_STYLES = {
    "original": ("#000000", "o"),
    "retrain": ("#E69F00", "s"),
    "finetune": ("#56B4E9", "^"),
    "gradient_ascent": ("#009E73", "D"),
    "neggrad_plus": ("#0072B2", "v"),
    "random_label": ("#D55E00", "P"),
    "l1_sparse": ("#999933", "X"),
    "salun": ("#CC79A7", "*"),
    "scrub": ("#882255", "<"),
    "bad_teacher": ("#44AA99", ">"),
    "ssd": ("#332288", "h"),
    "fisher": ("#888888", "p"),
    "boundary_shrink": ("#AA4499", "d"),
}
METHOD_ORDER = tuple(METHOD_STYLES)
COLUMN_WIDTH_IN = 3.5  # one column of a two-column paper

# Derived columns the figures show that metrics.METRICS does not declare.
DERIVED_LABELS = {
    "avg_gap_bacc": "average gap to retrain\n(balanced accuracies)",
    "gap_forget_acc": "forget-accuracy gap to retrain",
    "gap_test_acc": "test-accuracy gap to retrain",
}


def axis_label(metric: str) -> str:
    """A metric's axis label: its declared label, else a derived column's, else its name."""
    return METRIC_LABELS.get(metric) or DERIVED_LABELS.get(metric, metric)


def method_style(method: str) -> dict:
    """Colour and marker of a method, the same in every figure (unknown methods: grey dots)."""
    color, marker = METHOD_STYLES.get(method, ("#BBBBBB", "."))
    return {"color": color, "marker": marker, "linestyle": "-"}


def setup_style() -> None:
    plt.rcParams.update(
        {
            "figure.dpi": 150,
            "savefig.dpi": 200,
            "font.size": 8,
            "axes.titlesize": 8,
            "axes.labelsize": 8,
            "legend.fontsize": 7,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


CAPTION_SUFFIX = ".caption.txt"


def save_figure(fig, name: str, *, caption: str) -> None:
    """Write ``figures/<name>.png`` and ``.pdf``, and ``caption`` (Markdown: what is plotted, on
    which dataset and seeds, what the bars or bands are) to ``figures/<name>.caption.txt`` for
    the report. The PDF carries no creation date, so rendering the same figure again writes the
    same bytes. Returns nothing: the paths are fixed by ``name``, and a returned temporary path
    would be printed into the executed notebook."""
    if not caption or not caption.strip():
        raise ValueError(f"figure {name!r} needs a caption: what is plotted, dataset, seeds, what the bars or bands are")
    folder = figures_dir()
    for suffix in ("png", "pdf"):
        metadata = {"CreationDate": None} if suffix == "pdf" else None
        fig.savefig(folder / f"{name}.{suffix}", bbox_inches="tight", metadata=metadata)
    (folder / f"{name}{CAPTION_SUFFIX}").write_text(" ".join(caption.split()) + "\n", encoding="utf-8")


SD_BARS = "point: mean over seeds, bar: ± 1 sd over seeds"


def method_dotplot(summary, *, methods, metrics, row_key: str, rows, reference: str | None = "retrain", title: str = ""):
    """One panel per (row, metric): each method's mean with its sd over seeds as a bar; a
    dashed line at the ``reference`` method's mean. ``summary`` comes from ``report.summarize``
    grouped by ``row_key`` and ``method``. A method with failed runs in a row (``summary``'s
    ``failed_runs`` of ``n``) is drawn hollow with a dashed bar and labelled "failed k of n";
    each panel's axis spans the other methods' bars and the reference only (``plot_marks``).
    The title ends with what the bars are, so the figure says it without its caption."""
    fig, axes = plt.subplots(
        len(rows), len(metrics), figsize=(2 * COLUMN_WIDTH_IN, 0.22 * len(methods) * len(rows) + 0.9), squeeze=False, sharey="row"
    )
    indexed = summary.set_index([row_key, "method"])
    counts = marks.counts_by(summary, [row_key, "method"])
    any_failed = clipped = False
    for r, row in enumerate(rows):
        failing = [counts.get((row, m), (0, 0))[0] > 0 for m in methods]
        any_failed |= any(failing)
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            points = {m: (indexed.loc[(row, m), f"{metric}_mean"], _zero_if_nan(indexed.loc[(row, m), f"{metric}_sd"]))
                      for m in methods if (row, m) in indexed.index}
            ref = points[reference][0] if reference in points else math.nan
            limits = _limits(points, failing=dict(zip(methods, failing)), include=[ref])
            for y, (method, bad) in enumerate(zip(methods, failing)):
                if method in points:
                    mean, sd = points[method]
                    style = method_style(method)
                    marks.draw_point(ax, y, mean, mean - sd, mean + sd, color=style["color"], marker=style["marker"], limits=limits, failed=bad)
                    clipped |= marks.any_clipped([mean - sd, mean + sd], limits)
            if math.isfinite(ref):
                ax.axvline(ref, color="0.5", linestyle="--", linewidth=0.8)
            ax.set_xlim(limits)
            ax.set_ylim(len(methods) - 0.5, -0.5)
            ax.set_xlabel(_wrapped(axis_label(metric)))
        axes[r][0].set_yticks(range(len(methods)), [marks.failed_label(m, *counts.get((row, m), (0, None))) for m in methods])
        marks.color_failed_ticks(axes[r][0], failing)
        axes[r][0].set_ylabel(str(row))
    seeds = sorted(set(summary["n"])) if "n" in summary else []
    bars = f"point: mean, bar: ± 1 sd over {seeds[0]} seeds" if len(seeds) == 1 else SD_BARS
    fig.suptitle(f"{title}; {bars}" if title else bars, fontsize=8)
    fig.tight_layout()
    if any_failed or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


def _zero_if_nan(value) -> float:
    return 0.0 if value != value else float(value)


def _limits(points: dict, *, failing: dict, include=()) -> tuple[float, float]:
    """Limits spanning each method's (centre, half-width) bar, methods with failed runs left
    out (all of them when every method failed), and ``include``."""
    kept = {m: p for m, p in points.items() if not failing.get(m)} or points
    return marks.limits_of([v for centre, half in kept.values() for v in (centre - half, centre + half)], include=include)


def _wrapped(label: str, width: int = 22) -> str:
    return "\n".join(textwrap.fill(part, width) for part in label.split("\n"))


def _interval_errors(row) -> bool:
    """Whether a paired difference has an interval to draw (none for a single pair)."""
    return row.pairs > 1 and row.ci_low == row.ci_low


def paired_difference_plot(differences, *, methods, metrics, contrast: str, title: str, primary: str | None = None,
                           bands: dict | None = None):
    """One panel per metric: each method's mean paired difference (``report.paired_difference``
    rows: method, metric, difference, ci_low, ci_high, pairs) with its 95 % t-interval as a bar;
    a dashed line at no difference; ``bands`` (metric -> margin, the noise floor's) shades
    ±margin, the differences no larger than two retrains' (the equivalence margin). ``contrast`` names the difference, e.g. "hard minus easy";
    the ``primary`` metric's panel is titled "primary endpoint". A method with failed runs
    (``failed_runs`` of ``runs`` in ``differences``, as ``failures.failure_counts`` merges them)
    is drawn hollow and dashed, labelled "failed k of n", and does not set the axis scale."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(2 * COLUMN_WIDTH_IN, 0.22 * len(methods) + 1.2), sharey=True, squeeze=False)
    counts = marks.counts_by(differences.drop_duplicates("method"), ["method"])
    width = 8 + 60 // len(metrics)  # characters per label line: the panels' labels must not meet
    failing = {m: counts.get(m, (0, 0))[0] > 0 for m in methods}
    clipped = False
    for ax, metric in zip(axes[0], metrics):
        part = differences[differences.metric == metric].set_index("method")
        ends = {m: (part.loc[m, "ci_low"], part.loc[m, "ci_high"]) if _interval_errors(part.loc[m]) else (part.loc[m, "difference"],) * 2
                for m in methods if m in part.index}
        band = (bands or {}).get(metric)
        limits = _limits({m: ((a + b) / 2, (b - a) / 2) for m, (a, b) in ends.items()}, failing=failing,
                         include=[0.0] if band is None else [-band, 0.0, band])
        if band is not None:
            ax.axvspan(-band, band, color="0.9", linewidth=0, zorder=0)
        for y, method in enumerate(methods):
            if method not in part.index:
                continue
            row, style = part.loc[method], method_style(method)
            low, high = (row.ci_low, row.ci_high) if _interval_errors(row) else (math.nan, math.nan)
            marks.draw_point(ax, y, row.difference, low, high, color=style["color"], marker=style["marker"], limits=limits,
                             failed=failing[method])
            clipped |= marks.any_clipped([row.difference, low, high], limits)
        ax.axvline(0, color="0.5", linestyle="--", linewidth=0.8)
        ax.set_xlim(limits)
        ax.set_yticks(range(len(methods)), [marks.failed_label(m, *counts.get(m, (0, None))) for m in methods])
        ax.set_ylim(len(methods) - 0.5, -0.5)
        ax.set_xlabel(f"{_wrapped(axis_label(metric), width)}\n{textwrap.fill(contrast, width)}")
        if metric == primary:
            ax.set_title("primary endpoint", fontsize=7, fontweight="bold")
    marks.color_failed_ticks(axes[0][0], [failing[m] for m in methods])
    shaded = "; shaded: ± the noise floor (equivalence margin)" if bands else ""
    fig.suptitle(f"{title}; point: mean paired difference, bar: its 95 % t-interval{shaded}", fontsize=8)
    fig.tight_layout()
    if any(failing.values()) or clipped:
        marks.add_failed_legend(fig, clipped=clipped)
    return fig


def off_scale(ranges: dict, factor: float = 3.0) -> set:
    """The keys whose span (high minus low) exceeds ``factor`` times the median span: drawn on
    a shared axis they would stretch it until the others' differences disappear."""
    spans = {k: high - low for k, (low, high) in ranges.items()}
    typical = sorted(spans.values())[len(spans) // 2] if spans else 0.0
    return {k for k, span in spans.items() if typical > 0 and span > factor * typical}

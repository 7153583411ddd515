"""Failed runs in figures: always drawn, always marked the same way, never setting a scale.

A run fails by the one rule of :mod:`unlearnlib.evaluation.failures`; the tables the notebooks plot
already count them (``failed_runs`` of ``n`` or ``runs``). In every figure a method with failed
runs is drawn with a hollow marker and a dashed bar, and named "<method> (failed k of n)" in
red (:func:`failed_label`). Each axis's limits come from the methods without failed runs and
the reference lines (:func:`limits_of`), so a collapsed method cannot stretch the axis until
the others' differences vanish; a point or bar end beyond the limits is drawn at the edge as
a triangle pointing outwards, the point's value written beside it (:func:`draw_point`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from matplotlib.lines import Line2D

FAILED_COLOR = "#B2182B"  # the label colour of a method with failed runs (dark red)
FAILED_NOTE = "hollow marker, dashed bar, red label: method with failed runs (k of n); it does not set the axis scale"
CLIPPED_NOTE = "triangle at an axis edge: continues beyond the axis (a clipped point has its value written beside)"


def failed_caption() -> str:
    """The sentence every caption carries on how failed runs are drawn."""
    from ..evaluation.failures import RULE

    return (f"Failed runs ({RULE}): a method with any is drawn with a hollow marker and a dashed bar and labelled "
            "'failed k of n' in red; it does not set the axis scale, and a point beyond the axis is drawn as a triangle at "
            "the edge with its value beside it.")


def failed_label(name: str, failed: int = 0, runs: int | None = None) -> str:
    """``"ssd (failed 5 of 10)"`` for a method with failed runs, else the name itself."""
    if not failed:
        return name
    return f"{name} (failed {int(failed)} of {int(runs)})" if runs else f"{name} (failed {int(failed)})"


def counts_by(table, keys: Iterable[str], *, runs_column: str | None = None) -> dict:
    """``{key: (failed runs, runs)}`` from a table that carries ``failed_runs`` and ``n`` or
    ``runs`` (``report.summarize`` and ``failures.failure_counts`` write them); a key is the
    tuple of ``keys``' values, or the single value with one key. Empty when the table carries
    no failure counts (results without ``failures.with_damage``)."""
    keys = list(keys)
    runs_column = runs_column or next((c for c in ("runs", "n") if c in table), None)
    if "failed_runs" not in table or runs_column is None:
        return {}
    out = {}
    for row in table[[*keys, "failed_runs", runs_column]].itertuples(index=False):
        key = tuple(row[: len(keys)])
        failed = row[len(keys)]
        out[key[0] if len(keys) == 1 else key] = (0 if failed != failed else int(failed), int(row[len(keys) + 1]))
    return out


def limits_of(values: Iterable[float], *, include: Iterable[float] = (), pad: float = 0.08) -> tuple[float, float]:
    """Axis limits spanning the finite ``values`` and ``include`` (reference lines), padded by
    ``pad`` of the span on each side; (-1, 1) when nothing is finite."""
    finite = [float(v) for v in [*values, *include] if v is not None and math.isfinite(float(v))]
    if not finite:
        return -1.0, 1.0
    low, high = min(finite), max(finite)
    span = high - low or max(abs(high), 1e-3)
    return low - pad * span, high + pad * span


def draw_point(ax, y: float, value: float, low: float = math.nan, high: float = math.nan, *, color: str, marker: str,
               limits: tuple[float, float], failed: bool = False, size: float = 4, bold: bool = False) -> None:
    """One estimate at row ``y`` of a horizontal dot plot, with its bar from ``low`` to ``high``
    (none where either is NaN), on an axis whose x-limits will be ``limits``. Failed: hollow
    marker, dashed bar. What lies beyond ``limits`` is cut at the edge: a triangle there points
    outwards, and a clipped point's value is written beside it."""
    left, right = limits
    face = "white" if failed else color
    if math.isfinite(low) and math.isfinite(high):
        a, b = max(low, left), min(high, right)
        if a <= b:
            ax.hlines(y, a, b, color=color, linewidth=1.8 if bold else 1.0, linestyles="--" if failed else "-")
        for end, edge, cut in ((low, left, low < left), (high, right, high > right)):
            if cut:
                ax.plot(edge, y, "<" if edge == left else ">", color=color, markerfacecolor=face, markersize=3, clip_on=False)
            elif left <= end <= right:
                ax.plot(end, y, "|", color=color, markersize=4, markeredgewidth=0.8)
    if not math.isfinite(value):
        return
    if left <= value <= right:
        ax.plot(value, y, marker, color=color, markerfacecolor=face, markersize=size + (2 if bold else 0), zorder=3)
        return
    edge = right if value > right else left
    ax.plot(edge, y, ">" if value > right else "<", color=color, markerfacecolor=face, markersize=size, clip_on=False, zorder=3)
    ax.annotate(f"{value:.2f}", (edge, y), xytext=(-5 if value > right else 5, 3), textcoords="offset points",
                ha="right" if value > right else "left", va="bottom", fontsize=5, color=color)


def color_failed_ticks(ax, failing: Iterable[bool], *, axis: str = "y") -> None:
    """Colour the tick labels of the rows (or columns) with failed runs in :data:`FAILED_COLOR`."""
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    for label, bad in zip(labels, failing):
        if bad:
            label.set_color(FAILED_COLOR)


def failed_legend_handles(*, clipped: bool = False) -> list:
    """Legend entries that say how failed runs (and clipped values) are drawn."""
    handles = [Line2D([], [], color="0.3", marker="o", markerfacecolor="white", linestyle="--", markersize=4, label=FAILED_NOTE)]
    if clipped:
        handles.append(Line2D([], [], color="0.3", marker=">", linestyle="none", markersize=4, label=CLIPPED_NOTE))
    return handles


def add_failed_legend(fig, *, clipped: bool = False) -> None:
    """A one-line legend under the figure saying how failed runs (and clipped values) are drawn."""
    fig.legend(handles=failed_legend_handles(clipped=clipped), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=1,
               frameon=False, fontsize=6, labelcolor=FAILED_COLOR)


def any_clipped(values: Iterable[float], limits: tuple[float, float]) -> bool:
    """Whether any finite value lies beyond ``limits``."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    return bool(((arr < limits[0]) | (arr > limits[1])).any())


def failing_of(counts: Mapping, key) -> tuple[int, int]:
    """``(failed, runs)`` for ``key`` in :func:`counts_by`'s mapping, ``(0, 0)`` when absent."""
    return counts.get(key, (0, 0))

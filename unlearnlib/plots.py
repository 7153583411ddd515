"""The study's figure style: one colour and marker per method in every figure
(Okabe-Ito, colour-blind safe), sized for a paper column, saved as PNG and PDF."""
from __future__ import annotations

import matplotlib.pyplot as plt

from .paths import figures_dir

OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8"]

# A fixed order, so that a method keeps its colour whichever methods a figure shows.
METHOD_ORDER = (
    "original", "retrain", "finetune", "gradient_ascent", "neggrad_plus", "random_label", "l1_sparse",
    "salun", "scrub", "bad_teacher", "ssd", "fisher", "boundary_shrink",
)
COLUMN_WIDTH_IN = 3.5  # one column of a two-column paper


def method_style(method: str) -> dict:
    """Colour, marker and line style of a method, the same in every figure."""
    index = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER) + hash(method) % 8
    return {
        "color": OKABE_ITO[index % len(OKABE_ITO)],
        "marker": MARKERS[index % len(MARKERS)],
        "linestyle": "-" if index < len(OKABE_ITO) else "--",
    }


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


def save_figure(fig, name: str) -> list[str]:
    """Write ``figures/<name>.png`` and ``.pdf``; return the paths."""
    paths = []
    for suffix in ("png", "pdf"):
        path = figures_dir() / f"{name}.{suffix}"
        fig.savefig(path, bbox_inches="tight")
        paths.append(str(path))
    return paths


METRIC_LABELS = {
    "retain_acc": "retain accuracy (fraction)",
    "forget_acc": "forget accuracy (fraction)",
    "val_acc": "validation accuracy (fraction)",
    "test_acc": "test accuracy (fraction)",
    "mia_efficacy": "MIA-efficacy (share judged non-member)",
    "loss_attack": "loss-attack accuracy (fraction)",
    "avg_gap": "average gap to retrain",
    "seconds": "wall time (s)",
    "rte": "run-time efficiency (x)",
}


def method_dotplot(summary, *, methods, metrics, row_key: str, rows, reference: str | None = "retrain", title: str = ""):
    """One panel per (row, metric): each method's mean with its sd over seeds as an error
    bar; a dashed line at the ``reference`` method's mean. ``summary`` comes from
    ``report.summarize`` grouped by ``row_key`` and ``method``."""
    fig, axes = plt.subplots(
        len(rows), len(metrics), figsize=(2 * COLUMN_WIDTH_IN, 0.22 * len(methods) * len(rows) + 0.9), squeeze=False, sharey=True
    )
    indexed = summary.set_index([row_key, "method"])
    for r, row in enumerate(rows):
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            for y, method in enumerate(methods):
                if (row, method) not in indexed.index:
                    continue
                mean, sd = indexed.loc[(row, method), f"{metric}_mean"], indexed.loc[(row, method), f"{metric}_sd"]
                style = method_style(method)
                ax.errorbar(mean, y, xerr=0 if sd != sd else sd, fmt=style["marker"], color=style["color"], capsize=2, markersize=4)
            if reference is not None and (row, reference) in indexed.index:
                ax.axvline(indexed.loc[(row, reference), f"{metric}_mean"], color="0.5", linestyle="--", linewidth=0.8)
            ax.set_yticks(range(len(methods)), methods)
            ax.set_ylim(len(methods) - 0.5, -0.5)
            ax.set_xlabel(METRIC_LABELS.get(metric, metric))
            if c == 0:
                ax.set_ylabel(str(row))
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig

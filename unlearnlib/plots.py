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

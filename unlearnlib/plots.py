"""The study's figure style: one colour and marker per method in every figure
(Okabe-Ito, colour-blind safe), sized for a paper column, saved as PNG and PDF."""
from __future__ import annotations

import matplotlib.pyplot as plt

from .metrics import METRIC_LABELS  # declared once, in metrics.METRICS
from .paths import figures_dir

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

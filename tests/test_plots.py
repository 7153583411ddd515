"""The figure style: every method keeps one distinct look across figures."""
from __future__ import annotations

import pytest

from unlearnlib.algorithms import available
from unlearnlib.report.plots import method_style


def test_every_method_has_its_own_colour_and_marker():
    styles = [method_style(m) for m in available()]
    assert len({s["color"] for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)


def test_saving_a_figure_twice_writes_the_same_bytes(tmp_path, monkeypatch):
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unlearnlib.paths import FIGURES_DIR_ENV
    from unlearnlib.report.plots import save_figure

    monkeypatch.setenv(FIGURES_DIR_ENV, str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    files = [tmp_path / f"twice.{suffix}" for suffix in ("png", "pdf", "caption.txt")]
    assert save_figure(fig, "twice", caption="A line.") is None  # a returned path would be printed in the notebook
    first = [p.read_bytes() for p in files]
    time.sleep(1.1)  # a creation date in the PDF would now differ by a second
    save_figure(fig, "twice", caption="A line.")
    second = [p.read_bytes() for p in files]
    plt.close(fig)
    assert first == second and first[2] == b"A line.\n"


def test_a_figure_without_a_caption_is_refused(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unlearnlib.paths import FIGURES_DIR_ENV
    from unlearnlib.report.plots import save_figure

    monkeypatch.setenv(FIGURES_DIR_ENV, str(tmp_path))
    fig = plt.figure()
    with pytest.raises(ValueError, match="figure 'bare' needs a caption"):
        save_figure(fig, "bare", caption=" ")
    plt.close(fig)
    assert not list(tmp_path.iterdir())


def _agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def test_off_scale_flags_only_a_span_far_wider_than_the_others():
    from unlearnlib.report.plots import off_scale

    ranges = {"a": (0.70, 0.72), "b": (0.69, 0.72), "c": (0.68, 0.71), "ssd": (0.1, 0.7)}
    assert off_scale(ranges) == {"ssd"}
    assert off_scale({"a": (0.0, 1.0), "b": (0.0, 1.2)}) == set()
    assert off_scale({"flat": (1.0, 1.0), "also": (0.5, 0.5)}) == set()  # no spread: nothing to compare against


def test_paired_difference_plot_draws_each_interval_and_names_the_contrast():
    import pandas as pd

    from unlearnlib.report.plots import paired_difference_plot

    plt = _agg()
    differences = pd.DataFrame({"method": ["retrain", "finetune", "finetune"], "metric": ["avg_gap", "avg_gap", "forget_acc"],
                                "difference": [0.0, 0.05, -0.2], "ci_low": [0.0, 0.01, -0.3], "ci_high": [0.0, 0.09, -0.1],
                                "pairs": [5, 5, 5]})
    fig = paired_difference_plot(differences, methods=["retrain", "finetune"], metrics=["avg_gap", "forget_acc"],
                                 contrast="hard minus easy", title="toy")
    axes = fig.axes
    assert len(axes) == 2 and all("hard minus easy" in ax.get_xlabel() for ax in axes)
    assert "95 % t-interval" in fig._suptitle.get_text()
    # finetune's avg_gap bar spans exactly its interval
    segments = [seg for coll in axes[0].collections for seg in coll.get_segments()]
    assert any(abs(seg[0][0] - 0.01) < 1e-9 and abs(seg[1][0] - 0.09) < 1e-9 for seg in segments)
    plt.close(fig)


def _forget_size_inputs():
    import pandas as pd

    rows = []
    for method, curve in {"retrain": [0.71, 0.70, 0.69], "finetune": [0.72, 0.71, 0.72], "ssd": [0.48, 0.35, 0.63]}.items():
        for fraction, value in zip([0.01, 0.1, 0.5], curve):
            rows.append({"method": method, "scenario_fraction": fraction, "test_acc_mean": value, "test_acc_sd": 0.01, "n": 3})
    drops = pd.DataFrame({"method": ["retrain", "finetune", "ssd"], "metric": "test_acc", "difference": [0.019, -0.004, -0.15],
                          "ci_low": [-0.014, -0.015, -0.635], "ci_high": [0.052, 0.008, 0.335], "pairs": 3})
    return pd.DataFrame(rows), drops


def test_forget_size_figure_keeps_the_retrain_drop_readable_and_marks_what_it_clips():
    from unlearnlib.report.size_plots import forget_size_figure

    plt = _agg()
    summary, drops = _forget_size_inputs()
    fig = forget_size_figure(summary, drops, methods=["finetune", "retrain", "ssd"], metrics=["test_acc"], title="toy, tuned at each size")
    top, *facets = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()][0] == "retrain"  # the finding's method first
    low, high = top.get_xlim()
    assert low <= -0.014 and high >= 0.052  # the retrain interval is whole
    assert high - low < 0.2  # ssd's interval (about 1 wide) did not stretch the axis
    assert any("clipped" in t.get_text() and "-0.635" in t.get_text() for t in top.texts)
    assert "95 % t-interval" in top.get_xlabel()
    assert len(facets) == 3
    ssd = facets[2]
    assert "own y scale" in ssd.get_title()
    assert ssd.get_ylim()[0] < 0.35 < facets[0].get_ylim()[0]  # only ssd's facet reaches down to its collapse
    assert [t.get_text() for t in facets[0].get_xticklabels()] == ["1", "10", "50"]  # ticks at the forget sizes
    plt.close(fig)


def test_forget_size_figure_draws_with_one_seed_and_no_intervals():
    """A smoke run has one seed: no interval anywhere, yet the figure draws on finite axes."""
    import math

    from unlearnlib.report.size_plots import forget_size_figure

    plt = _agg()
    summary, drops = _forget_size_inputs()
    drops[["ci_low", "ci_high"]] = float("nan")
    summary["test_acc_sd"] = float("nan")
    fig = forget_size_figure(summary, drops, methods=["finetune", "retrain", "ssd"], metrics=["test_acc"], title="one seed")
    low, high = fig.axes[0].get_xlim()
    assert math.isfinite(low) and math.isfinite(high) and low <= -0.15 and high >= 0.019  # the point estimates are on it
    plt.close(fig)


def test_method_dotplot_says_what_its_bars_are():
    import pandas as pd

    from unlearnlib.report.plots import method_dotplot

    plt = _agg()
    summary = pd.DataFrame({"dataset": ["d", "d"], "method": ["retrain", "finetune"], "test_acc_mean": [0.7, 0.6],
                            "test_acc_sd": [0.01, 0.02], "n": [5, 5]})
    fig = method_dotplot(summary, methods=["retrain", "finetune"], metrics=["test_acc"], row_key="dataset", rows=["d"], title="toy")
    assert fig._suptitle.get_text() == "toy; point: mean, bar: ± 1 sd over 5 seeds"
    plt.close(fig)

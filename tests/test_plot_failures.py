"""Failed runs in figures (issue: figures that show failed runs): drawn, marked "failed k of n",
hollow, and never setting an axis's scale; failed tuning trials drawn in their own strip and
the chosen trial ringed; tables show "-" for missing values and scroll instead of clipping."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from unlearnlib.report import plot_marks, plots, study_plots, tuning_plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _summary(with_failed_runs: bool = True) -> pd.DataFrame:
    rows = [("original", 0.97, 0.01, 0), ("retrain", 0.75, 0.02, 0), ("finetune", 0.85, 0.02, 0), ("ssd", 0.10, 0.05, 4)]
    table = pd.DataFrame([{"dataset": "d", "method": m, "forget_acc_mean": v, "forget_acc_sd": s, "n": 5, "failed_runs": k}
                          for m, v, s, k in rows])
    return table if with_failed_runs else table.drop(columns="failed_runs")


def _markers(ax):
    """(x, y, face colour) of every single-point marker line in ``ax``."""
    out = []
    for line in ax.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 1 and line.get_marker() not in ("None", "", "|"):
            out.append((float(x[0]), float(y[0]), matplotlib.colors.to_hex(line.get_markerfacecolor()), line.get_marker()))
    return out


def test_a_failed_method_in_a_dotplot_is_labelled_hollow_and_does_not_set_the_scale():
    methods = ["original", "retrain", "finetune", "ssd"]
    fig = plots.method_dotplot(_summary(), methods=methods, metrics=["forget_acc"], row_key="dataset", rows=["d"], title="toy")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["original", "retrain", "finetune", "ssd (failed 4 of 5)"]
    assert matplotlib.colors.to_hex(ax.get_yticklabels()[3].get_color()) == plot_marks.FAILED_COLOR.lower()
    low, high = ax.get_xlim()
    assert low > 0.6  # ssd's 0.10 did not stretch the axis down
    without = plots.method_dotplot(_summary(), methods=methods[:3], metrics=["forget_acc"], row_key="dataset", rows=["d"], title="toy")
    assert without.axes[0].get_xlim() == pytest.approx((low, high))  # the same limits as without the failed method
    # ssd is drawn at the left edge as a hollow triangle, its value written beside it
    edge = [m for m in _markers(ax) if m[1] == 3]
    assert edge and edge[0][0] == pytest.approx(low) and edge[0][3] == "<" and edge[0][2] == "#ffffff"
    assert any(t.get_text() == "0.10" for t in ax.texts)
    legend_text = " ".join(t.get_text() for legend in fig.legends for t in legend.get_texts())
    assert "failed runs" in legend_text and "does not set the axis scale" in legend_text


def test_a_dotplot_without_failure_counts_draws_as_before():
    fig = plots.method_dotplot(_summary(with_failed_runs=False), methods=["original", "retrain", "finetune", "ssd"], metrics=["forget_acc"],
                               row_key="dataset", rows=["d"], title="toy")
    ax = fig.axes[0]
    assert "failed" not in " ".join(t.get_text() for t in ax.get_yticklabels())
    assert ax.get_xlim()[0] < 0.1  # every method sets the scale when none is known to have failed
    assert not fig.legends


def _differences():
    rows = [("original", 0.2, 0.18, 0.22, 0), ("retrain", 0.0, 0.0, 0.0, 0), ("finetune", -0.05, -0.1, 0.0, 0),
            ("neggrad_plus", -0.6, -0.9, -0.3, 10), ("ssd", 0.4, 0.15, 0.5, 6)]
    return pd.DataFrame([{"method": m, "metric": "avg_gap", "difference": d, "ci_low": lo, "ci_high": hi, "pairs": 5, "failed_runs": k,
                          "runs": 10} for m, d, lo, hi, k in rows])


def test_paired_differences_of_failed_methods_are_marked_and_clipped_not_scaled():
    methods = ["original", "retrain", "finetune", "neggrad_plus", "ssd"]
    fig = plots.paired_difference_plot(_differences(), methods=methods, metrics=["avg_gap"], contrast="hard minus easy", title="toy",
                                       primary="avg_gap")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][3:] == ["neggrad_plus (failed 10 of 10)", "ssd (failed 6 of 10)"]
    low, high = ax.get_xlim()
    assert -0.2 < low < -0.1 and 0.22 < high < 0.3  # spans finetune's interval, the original's and 0: not -0.9 or 0.5
    assert {t.get_text() for t in ax.texts} >= {"-0.60", "0.40"}  # the clipped points' values
    assert ax.get_title() == "primary endpoint"
    # ssd's bar, cut at the right edge, is dashed; neggrad_plus's lies wholly beyond the axis: a triangle only
    dashed = [c for c in ax.collections if c.get_linestyle()[0][1] is not None]
    assert len(dashed) == 1 and dashed[0].get_segments()[0][1][0] == pytest.approx(high)


def _tuning_row():
    trials = [
        {"number": 0, "params": {"lr": 1e-4, "epochs": 2}, "value": 0.30, "gap": 0.30, "status": "ok"},
        {"number": 1, "params": {"lr": 1e-3, "epochs": 3}, "value": 0.20, "gap": 0.20, "status": "ok"},
        {"number": 2, "params": {"lr": 3e-3, "epochs": 4}, "value": 4.51, "gap": 0.51, "status": "failed: validation accuracy 0.70"},
        {"number": 3, "params": {"lr": 5e-2, "epochs": 5}, "value": 4.90, "gap": 0.90, "status": "failed: validation accuracy 0.60"},
    ]
    return pd.DataFrame([{"method": "finetune", "trials": json.dumps(trials), "best_params": json.dumps({"lr": 1e-3, "epochs": 3}),
                          "best_value": 0.20, "n_trials": 4}])


def test_failed_tuning_trials_are_drawn_in_their_strip_and_the_chosen_trial_is_ringed():
    fig = tuning_plots.tuning_trials_figure(_tuning_row(), methods=["finetune"], title="toy")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    ok, failed = ax.collections[0].get_offsets(), ax.collections[1].get_offsets()
    assert len(ok) == 2 and len(failed) == 2
    strip = float(failed[0][1])
    assert np.all(failed[:, 1] == strip) and strip > 0.30 and strip < high  # above every passing trial, inside the axes
    assert sorted(failed[:, 0]) == pytest.approx([3e-3, 5e-2])  # at their settings
    assert high < 0.51  # the failed trials' gaps (0.51, 0.90) do not set the scale
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[-1] == "failed" and ax.get_yticks()[-1] == pytest.approx(strip)
    ring = [line for line in ax.get_lines() if line.get_marker() == "o" and line.get_markerfacecolor() == "none"]
    assert len(ring) == 1 and (float(ring[0].get_xdata()[0]), float(ring[0].get_ydata()[0])) == pytest.approx((1e-3, 0.20))
    assert ax.get_title() == "finetune\nfailed 2 of 4"
    assert tuning_plots.trial_counts(_tuning_row()) == {"finetune": (2, 4)}


def test_log_axes_of_tuning_panels_label_few_ticks():
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    tuning_plots._log_ticks(ax, 3e-4, 2e-3)  # one power of ten inside: the ends and the middle instead
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0003", "0.0008", "0.002"]
    tuning_plots._log_ticks(ax, 2e-4, 1e-2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["$10^{-3}$", "$10^{-2}$"]
    tuning_plots._log_ticks(ax, 1e-9, 1e-5)  # five powers of ten: at most four labelled
    assert len(ax.get_xticks()) <= 4


def test_relearning_change_figure_draws_the_excess_change_per_k_with_its_margin_and_verdict():
    rows = [("original", 0, -0.05, -0.07, -0.03, "recovers less than retraining", 0), ("retrain", 0, 0.0, 0.0, 0.0, "reference (0 by construction)", 0),
            ("finetune", 0, 0.01, -0.02, 0.04, "changes like retraining", 0), ("ssd", 0, 0.6, 0.5, 0.7, "recovers more than retraining", 0),
            ("original", 5, -0.04, -0.06, -0.02, "recovers less than retraining", 0), ("retrain", 5, 0.0, 0.0, 0.0, "reference (0 by construction)", 0),
            ("finetune", 5, 0.02, -0.01, 0.05, "undetermined", 1), ("ssd", 5, 0.5, 0.4, 0.6, "recovers more than retraining", 0)]
    table = pd.DataFrame([{"dataset": "d", "method": m, "k_forget": k, "excess_change": e, "ci_low": lo, "ci_high": hi, "verdict": v,
                           "failed_runs": f, "runs": 5} for m, k, e, lo, hi, v, f in rows])
    fig = study_plots.relearning_change_figure(table, datasets=["d"], margin=0.05, failing={("d", "ssd"): (3, 5)})
    ax = fig.axes[0]
    # Failed unlearning runs, or an attack that did not finish, name the method "failed k of n".
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "retrain", "finetune (failed 1 of 10)", "ssd (failed 3 of 5)"]
    words = [t.get_text() for t in ax.texts]
    assert words[:4] == ["less", "less", "0", "0"] and "like retrain" in words and "?" in words
    assert ax.get_xlim()[1] < 0.4  # ssd (failed) does not set the scale
    band = [p for p in ax.patches]
    assert band and band[0].get_x() == pytest.approx(-0.05)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["k = 0 forget images in the attack", "k = 5 forget images in the attack"]


def test_primary_endpoint_figure_stars_only_methods_without_failed_runs():
    summary = pd.DataFrame([{"dataset": "d", "method": m, "avg_gap_mean": v, "avg_gap_sd": 0.01, "n": 5, "failed_runs": k}
                            for m, v, k in [("original", 0.12, 0), ("retrain", 0.0, 0), ("finetune", 0.07, 0), ("fisher", 0.5, 2)]])
    closer = {("d", "finetune"), ("d", "fisher")}
    fig = study_plots.primary_endpoint_figure(summary, methods=["original", "retrain", "finetune", "fisher"], datasets=["d"], closer=closer)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "finetune *", "fisher (failed 2 of 5)"]
    assert ax.get_xlim()[0] == 0.0 and ax.get_xlim()[1] < 0.5


def test_closer_than_original_reads_the_holm_adjusted_comparison():
    table = pd.DataFrame({"dataset": ["d"] * 3, "method": ["a", "b", "c"], "difference": [-0.05, 0.02, -0.01],
                          "p_adjusted": [0.01, 0.01, 0.2]})
    assert study_plots.closer_than_original(table) == {("d", "a")}


def test_limits_of_ignores_missing_values_and_pads():
    assert plot_marks.limits_of([np.nan, 0.0, 1.0], pad=0.1) == pytest.approx((-0.1, 1.1))
    assert plot_marks.limits_of([np.nan]) == (-1.0, 1.0)
    assert plot_marks.failed_label("ssd", 5, 10) == "ssd (failed 5 of 10)" and plot_marks.failed_label("ssd", 0, 10) == "ssd"


def test_tables_show_a_dash_for_missing_values_and_scroll(monkeypatch):
    import IPython.display

    from unlearnlib.report import notebook

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw=False: shown.append(bundle))
    table = pd.DataFrame({"method": ["retrain", "ssd"], "p_adjusted": [np.nan, 0.012345678], "pairs": [5, 5]})
    notebook.show_table(table)
    notebook.show_table(table)
    html, text = shown[0]["text/html"], shown[0]["text/plain"]
    assert "overflow-x: auto" in html and "white-space: nowrap" in html
    assert "<td>-</td>" in html and "NaN" not in html and "nan" not in html
    assert "0.0123" in html and "0.012345678" not in html
    assert "NaN" not in text and " -" in text
    assert shown[0] == shown[1]  # no random ids: the same table, the same bytes
    assert "<th></th>" not in html  # the default 0, 1, ... index is not shown
    assert table["p_adjusted"].isna().iloc[0]  # the table itself keeps its missing value


def test_forget_size_facets_mark_failed_sizes_and_keep_the_shared_scale():
    from unlearnlib.report.size_plots import forget_size_figure

    rows = []
    for method, curve in {"retrain": [0.71, 0.70, 0.69], "finetune": [0.72, 0.71, 0.72], "scrub": [0.72, 0.70, 0.66]}.items():
        for fraction, value in zip([0.01, 0.1, 0.5], curve):
            rows.append({"method": method, "scenario_fraction": fraction, "test_acc_mean": value, "test_acc_sd": 0.01, "n": 3,
                         "failed_runs": 3 if (method, fraction) == ("scrub", 0.5) else 0})
    drops = pd.DataFrame({"method": ["retrain", "finetune", "scrub"], "metric": "test_acc", "difference": [0.02, 0.0, 0.32],
                          "ci_low": [0.01, -0.01, 0.30], "ci_high": [0.03, 0.01, 0.34], "pairs": 3})
    fig = forget_size_figure(pd.DataFrame(rows), drops, methods=["retrain", "finetune", "scrub"], metrics=["test_acc"], title="toy")
    top, retrain, finetune, scrub = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()][2] == "scrub (failed 3 of 6)"
    assert top.get_xlim()[1] < 0.1  # scrub's drop (0.32) is clipped, not the scale
    assert scrub.get_title() == "scrub\nfailed 3 of 9"
    assert scrub.get_ylim() == pytest.approx(finetune.get_ylim()) and scrub.get_ylim()[0] > 0.66  # the shared scale, set without scrub
    hollow = [m for m in _markers(scrub) if m[2] == "#ffffff"] + [
        (float(x), float(y)) for line in scrub.get_lines() if line.get_markerfacecolor() == "white" for x, y in zip(line.get_xdata(), line.get_ydata())]
    assert any(abs(h[0] - 2) < 1e-9 for h in hollow)  # the 50 % point, where scrub failed, is hollow (and at the edge)


def test_tables_hide_row_numbers_but_show_labelled_rows():
    from unlearnlib.report.notebook import table_html

    table = pd.DataFrame({"method": ["b", "a"], "x": [1.0, 2.0]}).sort_values("method")  # row numbers 1, 0 after sorting
    assert "<th>1</th>" not in table_html(table)
    pivot = table.set_index("method")
    assert "<th>a</th>" in table_html(pivot)

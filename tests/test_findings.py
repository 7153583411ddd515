"""Findings and tables the notebooks used to build in cells (``unlearnlib.report.findings``,
``report.signal_checks``, ``report.against_baseline``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unlearnlib.report import findings
from unlearnlib.evaluation import stats as report


def _runs():
    rows = []
    for seed in range(4):
        for method, gap, failed in (("original", 0.12, False), ("retrain", 0.0, False), ("finetune", 0.06, False), ("ssd", 0.11, seed < 2)):
            rows.append({"dataset": "d", "method": method, "seed": seed, "avg_gap": gap + 0.001 * seed * (method == "finetune"),
                         "retain_acc": 0.9, "forget_acc": 0.8 if method != "original" else 0.95, "test_acc": 0.7, "status": "ok",
                         "failed": failed})
    return pd.DataFrame(rows)


def test_signal_checks_count_what_moved_and_what_failed():
    runs = _runs()
    summary = report.summarize(runs, by=["dataset", "method"], metrics=["retain_acc", "forget_acc", "test_acc"])
    checks = report.signal_checks(summary, runs, datasets=["d"]).set_index("method")
    assert list(checks.index) == ["finetune", "ssd"]  # the references are not checked
    assert checks.loc["finetune", "largest_accuracy_change_vs_original"] == pytest.approx(0.15)
    assert bool(checks.loc["finetune", "changes_model"]) and checks.loc["ssd", "failed_runs"] == 2 and checks.loc["ssd", "runs"] == 4


def test_against_baseline_pairs_each_method_with_the_original_and_adjusts_over_the_methods():
    table = report.against_baseline(_runs(), datasets=["d"], methods=["original", "retrain", "finetune", "ssd"])
    assert list(table.method) == ["finetune", "ssd"]
    finetune = table.set_index("method").loc["finetune"]
    assert finetune.difference == pytest.approx(0.06 + 0.0015 - 0.12)
    assert (table.p_adjusted >= table.p_value).all()


def test_counted_differences_leave_out_the_references_and_the_failing_methods():
    differences = pd.DataFrame({"method": ["original", "retrain", "finetune", "ssd"], "metric": "avg_gap", "difference": [0.02, 0.0, 0.01, 0.4],
                                "ci_low": [0.0, 0.0, -0.01, 0.3], "ci_high": [0.04, 0.0, 0.03, 0.5], "p_value": 0.5, "pairs": 5,
                                "p_adjusted": [np.nan, np.nan, 0.8, 0.01], "p_equivalence": [0.5, 0.0, 0.2, 1.0]})
    line = findings.counted_differences(differences, {"ssd": (3, 5)}, label="Average gap, male minus female", margin=0.02)
    assert "finetune +0.010 [-0.010, +0.030], p = 0.800" in line and "ssd" not in line and "original" not in line
    assert "Holm-adjusted p over 2 methods" in line
    assert findings.failing_differences(differences, {"ssd": (3, 5)}) == [
        "The same for the failing methods, for the record: ssd +0.400 [+0.300, +0.500]."]
    assert findings.failing_differences(differences, {}) == []


# -- issue 33: the findings of the claims as the paper states them ----------------------------

def _states_and_tests():
    states = pd.DataFrame({"dataset": "d", "method": ["a", "b", "c", "ssd"], "retain_acc": ["equivalent"] * 3 + ["higher"],
                           "forget_acc": ["equivalent", "higher", "undetermined", "higher"],
                           "state": ["performs well", "does not", "undetermined", "failing"], "failed_runs": [0, 0, 0, 5],
                           "runs": 5, "dataset_verdict": "mixed"})
    tests = pd.DataFrame({"dataset": "d", "method": ["a", "a", "b", "b", "c", "c", "ssd", "ssd"], "metric": ["retain_acc", "forget_acc"] * 4,
                          "difference": [0.001, 0.002, 0.0, 0.12, 0.0, 0.03, 0.2, 0.3], "ci90_low": [-0.01, -0.01, -0.01, 0.1, -0.01, 0.0, 0.1, 0.2],
                          "ci90_high": [0.01, 0.01, 0.01, 0.14, 0.01, 0.06, 0.3, 0.4],
                          "result": ["equivalent", "equivalent", "equivalent", "higher", "equivalent", "undetermined", "higher", "higher"]})
    return states, tests


def test_finding_1_is_written_per_method_with_what_differs():
    states, tests = _states_and_tests()
    line = findings.performs_well(states, tests, dataset="d")
    assert "performs well: a;" in line and "does not: b (forget_acc +0.120 [+0.100, +0.140])" in line
    assert "undetermined: c;" in line and "failing, not counted: ssd (5 of 5)" in line and line.endswith("d verdict: mixed.")
    assert "Holm over 8 tests" in line


def test_difficulty_is_read_two_sided_with_the_share_closed_as_secondary():
    differences = pd.DataFrame({"method": ["original", "retrain", "a", "b", "c"], "metric": "avg_gap", "difference": [0.19, 0.0, 0.05, -0.06, 0.0],
                                "ci_low": [0.15, 0.0, 0.03, -0.08, -0.005], "ci_high": [0.23, 0.0, 0.07, -0.04, 0.005], "p_value": 0.01, "pairs": 5,
                                "p_adjusted": [np.nan, np.nan, 0.01, 0.01, 0.9], "p_equivalence": [1.0, 0.0, 1.0, 1.0, 0.01]})
    summary = pd.DataFrame([{"scenario_kind": k, "method": m, "test_acc_mean": 0.7, "avg_gap_mean": g}
                            for k, g in (("easy", 0.062), ("hard", 0.25)) for m in ("original", "retrain", "a", "b", "c")])
    arms = pd.DataFrame({"method": ["a", "b", "c"], "failed": False, "failure_kind": ""})
    closed = pd.DataFrame({"method": ["a", "b", "c"], "difference": [0.1, -0.2, 0.0], "ci_low": [0.0, -0.3, -0.1], "ci_high": [0.2, -0.1, 0.1],
                           "p_adjusted": [0.2, 0.01, 0.9]})
    verdict = {"finding": "difficulty", "verdict": "agree", "estimate": 0.05, "ci_low": 0.03, "ci_high": 0.07, "methods_counted": "a, b, c",
               "methods_failed": "none", "interval_level": 0.95, "estimate_label": "a: hard minus easy", "margin": "d: avg_gap ±0.02"}
    lines = findings.difficulty(differences, summary, arms, closed, margin=0.02, verdict=verdict, score="memorization")
    assert "Read two-sided: a against hard; b against easy; c no bias." in lines
    secondary = next(line for line in lines if line.startswith("Secondary (declared, not in the verdict)"))
    assert "0.062 on easy sets and 0.250 on hard ones" in secondary and "b -0.200 [-0.300, -0.100], p = 0.010" in secondary


def test_tuning_cost_is_reported_with_and_without_the_objectives_retrain():
    tuning = pd.DataFrame({"dataset": "d", "objective": "retrain", "method": ["a", "b", "c"], "n_trials": 20, "cost_in_retrains": [0.2, 0.4, 0.9],
                           "failed_trials": 0, "diverged_trials": 0})
    comparison = pd.DataFrame({"dataset": "d", "method": ["a"], "difference": [-0.01], "p_adjusted": [0.5], "pairs": [5]})
    timing = pd.DataFrame({"dataset": "d", "method": ["a", "b"], "rte_mean": [2.0, 5.0]})
    verdict = {"finding": "tuning_cost", "verdict": "agree", "estimate": 1.4, "ci_low": np.nan, "ci_high": np.nan, "methods_counted": "a, b, c",
               "methods_failed": "none"}
    lines = findings.efficiency_tuning(tuning, comparison, timing, datasets=["d"], tuning_dataset="d", seeds=5, verdict=verdict)
    assert any("1.40 retrains on d counting the retrain its objective compares with (0.40 without it)" in line for line in lines)


def test_finding_3_is_written_on_the_methods_with_retrain_as_context():
    from unlearnlib.report import findings_size
    extra = pd.DataFrame({"method": ["retrain", "a", "ssd"], "metric": ["drop", "extra_drop", "extra_drop"], "difference": [0.02, 0.015, 0.3],
                          "ci_low": [0.01, 0.01, 0.1], "ci_high": [0.03, 0.02, 0.5], "pairs": 10, "margin": [np.nan, 0.02, 0.02],
                          "p_adjusted": [np.nan, 0.001, 0.01], "p_equivalence": [np.nan, 0.2, 1.0], "result": [np.nan, "higher", "higher"],
                          "smallest": 0.01, "largest": 0.5})
    lines = findings_size.extra_drop_lines(extra, {"ssd": (4, 20)})
    assert lines[0].startswith("Context: retraining itself loses +0.020 [+0.010, +0.030] test accuracy from 1% to 50%")
    assert "a +0.015 [+0.010, +0.020], p = 0.001, TOST p = 0.200 (loses more than retraining)" in lines[1] and "ssd +0.300" not in lines[1]
    assert lines[2] == "The same for the failing methods, for the record: ssd +0.300 [+0.100, +0.500] (fails 4 of 20)."

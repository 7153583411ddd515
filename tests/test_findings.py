"""Findings and tables the notebooks used to build in cells (``unlearnlib.findings``,
``report.signal_checks``, ``report.against_baseline``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unlearnlib import findings, report


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

"""Result summaries and paired differences."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unlearnlib.report import paired_difference, summarize


def test_summary_gives_mean_sd_and_count_per_group():
    table = pd.DataFrame({"method": ["a", "a", "b"], "seed": [0, 1, 0], "forget_acc": [0.5, 0.7, 0.9]})
    out = summarize(table, by=["method"], metrics=["forget_acc"]).set_index("method")
    assert out.loc["a", "forget_acc_mean"] == pytest.approx(0.6) and out.loc["a", "forget_acc_sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert out.loc["a", "n"] == 2 and np.isnan(out.loc["b", "forget_acc_sd"])


def test_paired_difference_matches_a_hand_computed_t_interval():
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(0.975, 2) = 4.303
    table = pd.DataFrame({
        "method": ["m"] * 6, "seed": [0, 1, 2] * 2, "forget_set": ["male"] * 3 + ["female"] * 3,
        "test_acc": [0.6, 0.7, 0.8, 0.5, 0.5, 0.5],
    })
    out = paired_difference(table, column="forget_set", a="male", b="female", metric="test_acc", by=["method"]).iloc[0]
    half = 4.302653 * 0.1 / np.sqrt(3)
    assert out["difference"] == pytest.approx(0.2) and out["ci_low"] == pytest.approx(0.2 - half, rel=1e-5)
    assert out["ci_high"] == pytest.approx(0.2 + half, rel=1e-5) and 0 < out["p_value"] < 0.1 and out["pairs"] == 3

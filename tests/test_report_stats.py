"""The paired test's edge cases and the helpers for families of comparisons."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from unlearnlib.evaluation.stats import adjust_p_values, mean_sd, paired_difference, smallest_ruled_out, summarize, with_adjusted_p


def arms(a: list[float], b: list[float], *, seeds=None, method="m") -> pd.DataFrame:
    seeds = list(range(len(a))) if seeds is None else seeds
    return pd.DataFrame({
        "method": method, "seed": seeds * 2, "forget_set": ["male"] * len(a) + ["female"] * len(b), "test_acc": a + b,
    })


def compare(table: pd.DataFrame) -> pd.DataFrame:
    return paired_difference(table, column="forget_set", a="male", b="female", metric="test_acc", by=["method"])


def test_the_test_is_run_on_the_differences():
    a, b = [0.61, 0.72, 0.80, 0.55], [0.50, 0.60, 0.71, 0.44]
    out = compare(arms(a, b)).iloc[0]
    expected = stats.ttest_1samp(np.subtract(a, b), 0.0).pvalue
    assert out["p_value"] == pytest.approx(expected) and out["pairs"] == 4
    assert out["ci_low"] > 0  # the interval excludes 0 ...
    assert out["p_value"] < 0.05  # ... and the test agrees


def test_a_nan_in_one_arm_drops_that_pair_only():
    a, b = [0.6, 0.7, np.nan, 0.8, 0.9], [0.5, 0.5, 0.5, 0.55, 0.5]
    out = compare(arms(a, b)).iloc[0]
    kept = np.array([0.1, 0.2, 0.25, 0.4])
    assert out["pairs"] == 4
    assert out["difference"] == pytest.approx(kept.mean())
    assert out["p_value"] == pytest.approx(stats.ttest_1samp(kept, 0.0).pvalue)


def test_pairs_are_aligned_by_seed_not_by_row_order():
    table = arms([0.6, 0.7, 0.8], [0.5, 0.5, 0.5])
    shuffled = table.iloc[[5, 0, 3, 2, 4, 1]]
    # The female arm has seeds 0, 2 and 7: only seeds 0 and 2 pair.
    partial = pd.DataFrame({"method": "m", "seed": [0, 1, 2, 7, 2, 0], "test_acc": [0.6, 0.7, 0.8, 0.9, 0.4, 0.5],
                            "forget_set": ["male"] * 3 + ["female"] * 3})
    pd.testing.assert_frame_equal(compare(shuffled), compare(table))
    out = compare(partial).iloc[0]
    assert out["pairs"] == 2 and out["difference"] == pytest.approx(np.mean([0.1, 0.4]))


@pytest.mark.parametrize("constant", [0.05, -0.02])
def test_a_constant_nonzero_difference_is_significant_like_its_interval(constant):
    b = [0.5, 0.61, 0.7]
    out = compare(arms([x + constant for x in b], b)).iloc[0]
    assert out["difference"] == pytest.approx(constant)
    assert out["ci_low"] == pytest.approx(constant) and out["ci_high"] == pytest.approx(constant)
    assert out["p_value"] == 0.0


def test_a_constant_zero_difference_is_not():
    out = compare(arms([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])).iloc[0]
    assert out["difference"] == 0 and out["ci_low"] == 0 and out["ci_high"] == 0 and out["p_value"] == 1.0


def test_fewer_than_two_pairs_give_no_interval():
    out = compare(arms([0.6, np.nan], [0.5, 0.5])).iloc[0]
    assert out["pairs"] == 1 and out["difference"] == pytest.approx(0.1)
    assert np.isnan(out["ci_low"]) and np.isnan(out["p_value"])


def test_duplicate_rows_are_refused_by_name():
    table = pd.concat([arms([0.6, 0.7, 0.8], [0.5, 0.5, 0.5]), arms([0.65], [0.5], seeds=[1]).iloc[[0]]])
    with pytest.raises(ValueError, match=r"one row per \(method, forget_set, seed\); duplicated: "
                                         r"\{'method': 'm', 'forget_set': 'male', 'seed': 1\}: 2 rows"):
        compare(table)
    # Rows of other arms are not the comparison's business.
    other = arms([0.1, 0.1], [0.2, 0.2]).replace({"male": "mixed", "female": "mixed"})
    assert compare(pd.concat([arms([0.6, 0.7], [0.5, 0.5]), other]))["pairs"].tolist() == [2]


def test_groups_are_compared_separately():
    table = pd.concat([arms([0.6, 0.7, 0.8], [0.5, 0.5, 0.5], method="x"), arms([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], method="y")])
    out = compare(table).set_index("method")
    assert out.loc["x", "difference"] == pytest.approx(0.2) and out.loc["y", "p_value"] == 1.0


def test_smallest_ruled_out_is_the_larger_interval_end():
    assert smallest_ruled_out(-0.01, 0.03) == pytest.approx(0.03)
    assert smallest_ruled_out(-0.04, 0.01) == pytest.approx(0.04)
    out = smallest_ruled_out(pd.Series([-0.01, np.nan]), pd.Series([0.02, np.nan]))
    assert out.iloc[0] == pytest.approx(0.02) and np.isnan(out.iloc[1])


def test_holm_and_bonferroni_adjustments():
    p = [0.01, 0.04, 0.03, np.nan, 0.5]
    # Holm on the four present: sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 -> 0.04, 0.09, 0.09 (monotone), 0.5
    np.testing.assert_allclose(adjust_p_values(p, "holm"), [0.04, 0.09, 0.09, np.nan, 0.5])
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), [0.04, 0.16, 0.12, np.nan, 1.0])
    with pytest.raises(ValueError, match="unknown p-value adjustment 'fdr'; choose one of"):
        adjust_p_values(p, "fdr")


def test_with_adjusted_p_adds_a_column_per_family():
    table = pd.DataFrame({"metric": ["a", "a", "b", "b"], "p_value": [0.01, 0.02, 0.01, 0.5]})
    whole = with_adjusted_p(table, method="bonferroni")
    np.testing.assert_allclose(whole["p_adjusted"], [0.04, 0.08, 0.04, 1.0])
    per_metric = with_adjusted_p(table, method="bonferroni", family=["metric"])
    np.testing.assert_allclose(per_metric["p_adjusted"], [0.02, 0.04, 0.02, 1.0])
    assert "p_adjusted" not in table


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


def test_mean_sd_shows_counts_as_integers_and_a_missing_mean_as_a_dash():
    summary = pd.DataFrame({"method": ["original", "retrain"], "forget_size_mean": [350.0, 350.0], "forget_size_sd": [0.0, 0.0],
                            "rte_mean": [np.nan, 16.5], "rte_sd": [0.0, 1.25]})
    shown = mean_sd(summary, ["forget_size", "rte"])
    assert shown["forget_size"].tolist() == ["350 ± 0", "350 ± 0"] and shown["rte"].tolist() == ["-", "16.500 ± 1.250"]

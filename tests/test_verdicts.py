"""Failed runs, the equivalence test and verdicts computed from statistics (issue 19, items 1 and 5;
the margins handed in as arguments since issue 33: ``test_paper_rules``, ``test_paper``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from unlearnlib.evaluation import failures, stats as report
from unlearnlib.report import paper, paper_rules

MAJORITY = {"ham10000": 0.669}
MARGINS = {"ham10000": {"avg_gap": 0.02, "forget_acc": 0.02, "mia_efficacy": 0.02}}  # hand-made: the rules take margins


def run(method: str, seed: int, *, test_acc=0.71, test_bacc=0.40, retrain_test_bacc=0.40, avg_gap=0.05, arm="male") -> dict:
    gaps = {f"gap_{m}": 0.02 for m in failures.BALANCED_GAP_METRICS}
    moved = {"forget_acc": 1.0, "mia_efficacy": 0.95} if method == "original" else {"forget_acc": 0.7, "mia_efficacy": 0.5}
    return {"dataset": "ham10000", "method": method, "seed": seed, "arm": arm, "scenario_sex": arm, "test_acc": test_acc, "test_bacc": test_bacc,
            "retrain_test_bacc": retrain_test_bacc, "avg_gap": avg_gap, **gaps, **moved}


# -- the failed-run rule --------------------------------------------------------------------

def test_a_collapsed_run_fails_and_a_working_one_does_not():
    rows = pd.DataFrame([
        run("ok", 0),
        run("collapsed", 0, test_acc=0.669, test_bacc=1 / 7),  # predicts the majority class everywhere
        run("just_above", 0, test_acc=0.669 + failures.MAJORITY_MARGIN + 0.001),
        run("minority_lost", 0, test_acc=0.72, test_bacc=0.25, retrain_test_bacc=0.40),  # accurate, but gave up the small classes
        run("below_majority", 0, test_acc=0.10, test_bacc=0.39),
    ])
    assert failures.failed(rows, MAJORITY).tolist() == [False, True, False, True, True]


def test_the_rule_names_what_it_lacks():
    rows = pd.DataFrame([run("m", 0)])
    with pytest.raises(KeyError, match=r"no majority-class rate for datasets \['ham10000'\]"):
        failures.failed(rows, {"breastmnist": 0.73})
    with pytest.raises(KeyError, match="retrain_test_bacc"):
        failures.failed(rows.drop(columns="retrain_test_bacc"), MAJORITY)


def test_balanced_gap_averages_the_four_balanced_gaps():
    row = run("m", 0) | {"gap_retain_bacc": 0.1, "gap_forget_bacc": 0.2, "gap_test_bacc": 0.3, "gap_mia_efficacy": 0.4}
    assert failures.average_gap_bacc(pd.DataFrame([row])).iloc[0] == pytest.approx(0.25)


def test_summaries_count_failed_runs_per_group():
    rows = failures.with_damage(pd.DataFrame([run("a", s) for s in range(3)] + [run("b", 0), run("b", 1, test_acc=0.5)]), MAJORITY)
    summary = report.summarize(rows, by=["method"], metrics=["avg_gap"]).set_index("method")
    assert summary["failed_runs"].to_dict() == {"a": 0, "b": 1}
    assert summary["n"].to_dict() == {"a": 3, "b": 2}
    assert failures.failing_methods(rows) == {"b": (1, 2)}
    assert failures.describe_failing({"b": (1, 2)}) == "b (1 of 2)"


# -- the equivalence test -------------------------------------------------------------------

def test_tost_is_the_larger_one_sided_p_and_matches_the_90_percent_interval():
    diff = np.array([0.004, -0.006, 0.01, 0.001, -0.002])
    margin = 0.02
    n, mean, se = len(diff), diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
    lower = stats.t.sf((mean + margin) / se, n - 1)
    upper = stats.t.cdf((mean - margin) / se, n - 1)
    p = report.tost_p_value(diff, margin)
    assert p == pytest.approx(max(lower, upper))
    low, high = report.t_interval(diff, confidence=0.90)
    assert (p < 0.05) == (-margin < low and high < margin)


def test_tost_fails_when_the_interval_crosses_a_margin_and_refuses_a_bad_margin():
    assert report.tost_p_value([0.015, 0.03, 0.025, 0.02, 0.01], 0.02) > 0.05
    assert report.tost_p_value([0.01, 0.01, 0.01], 0.02) == 0.0  # constant and inside
    assert report.tost_p_value([0.03, 0.03, 0.03], 0.02) == 1.0
    assert np.isnan(report.tost_p_value([0.01], 0.02))
    with pytest.raises(ValueError, match="margin must be a positive, finite number; got 0"):
        report.tost_p_value([0.0, 0.1], 0)


def test_paired_difference_carries_tost_when_given_a_margin():
    table = pd.DataFrame({"method": "m", "seed": [0, 1, 2, 0, 1, 2], "arm": ["a"] * 3 + ["b"] * 3,
                          "avg_gap": [0.05, 0.06, 0.055, 0.05, 0.058, 0.052]})
    out = report.paired_difference(table, column="arm", a="a", b="b", metric="avg_gap", by=["method"], margin=0.02).iloc[0]
    assert out["margin"] == 0.02
    assert out["p_equivalence"] == pytest.approx(report.tost_p_value([0.0, 0.002, 0.003], 0.02))


def test_difference_from_reference_pairs_each_row_with_its_retrain():
    rows = pd.DataFrame({"method": "m", "test_acc": [0.70, 0.72, 0.71], "retrain_test_acc": [0.69, 0.70, 0.70]})
    out = report.difference_from_reference(rows, metrics=["test_acc"], by=["method"], margin=0.05).iloc[0]
    assert out["difference"] == pytest.approx(np.mean([0.01, 0.02, 0.01])) and out["pairs"] == 3
    assert out["p_equivalence"] == pytest.approx(report.tost_p_value([0.01, 0.02, 0.01], 0.05))


# -- verdicts -------------------------------------------------------------------------------

def arms_table(method_diffs: dict[str, list[float]]) -> pd.DataFrame:
    """Male and female rows whose avg_gap differs by the given per-seed differences."""
    rows = []
    if "original" not in method_diffs:  # the did-nothing rule pairs each run with the original's
        method_diffs = {"original": [0.0] * len(next(iter(method_diffs.values()))), **method_diffs}
    for method, diffs in method_diffs.items():
        for seed, d in enumerate(diffs):
            rows += [run(method, seed, avg_gap=0.05 + d, arm="male"), run(method, seed, avg_gap=0.05, arm="female")]
    return pd.DataFrame(rows)


def sex_verdict(runs: pd.DataFrame) -> dict:
    runs = failures.with_damage(runs, MAJORITY, MARGINS)
    margin = MARGINS["ham10000"]["avg_gap"]
    differences = report.paired_difference(runs, column="arm", a="male", b="female", metric="avg_gap", by=["method"], margin=margin)
    differences = report.with_adjusted_p(differences[~differences.method.isin(["original", "retrain"])], method="holm")
    return paper_rules.judge_no_difference("sex_bias", differences, runs, margins=MARGINS, dataset="ham10000")


def test_no_difference_is_agree_only_when_both_one_sided_tests_pass():
    tight = [0.001, -0.002, 0.0, 0.002, -0.001]  # inside +-0.02: both one-sided tests reject
    assert sex_verdict(arms_table({"a": tight, "b": tight}))["verdict"] == "agree"
    # Not significant but wide: the upper one-sided test cannot reject a difference of +0.02.
    wide = [0.03, -0.02, 0.04, -0.01, 0.02]
    assert report.tost_p_value(wide, 0.02) > 0.05 and stats.ttest_1samp(wide, 0).pvalue > 0.05
    row = sex_verdict(arms_table({"a": tight, "b": wide}))
    assert row["verdict"] == "inconclusive"
    # Only the lower bound passes: an interval sitting just below +0.02 but touching it.
    edge = [0.012, 0.018, 0.022, 0.016, 0.02]
    assert stats.t.sf((np.mean(edge) + 0.02) / (np.std(edge, ddof=1) / np.sqrt(5)), 4) < 0.05  # lower test passes
    assert report.tost_p_value(edge, 0.02) > 0.05  # upper does not
    assert sex_verdict(arms_table({"a": tight, "b": edge}))["verdict"] != "agree"


def test_a_clear_difference_is_disagree_and_both_kinds_are_mixed():
    big = [0.08, 0.09, 0.1, 0.085, 0.095]
    tight = [0.001, -0.002, 0.0, 0.002, -0.001]
    assert sex_verdict(arms_table({"a": big, "b": big}))["verdict"] == "disagree"
    assert sex_verdict(arms_table({"a": big, "b": tight}))["verdict"] == "mixed"


def test_a_method_with_a_collapsed_run_is_not_counted():
    tight = [0.001, -0.002, 0.0, 0.002, -0.001]
    runs = arms_table({"works": tight, "collapses": tight})
    runs.loc[(runs.method == "collapses") & (runs.seed == 3) & (runs.arm == "female"), ["test_acc", "test_bacc"]] = [0.669, 1 / 7]
    row = sex_verdict(runs)
    assert row["methods_counted"] == "works"
    assert row["methods_failed"] == "collapses (1 of 10: damaged 1)"
    assert row["verdict"] == "agree"  # judged on the working method alone, the failing one reported beside it
    # With every method failing, nothing is counted and nothing can be concluded.
    runs.loc[(runs.method == "works") & (runs.seed == 0), "test_acc"] = 0.5
    assert sex_verdict(runs)["verdict"] == "inconclusive"
    assert sex_verdict(runs)["methods_counted"] == "none"


def test_the_reference_methods_are_neither_counted_nor_failed():
    tight = [0.001, -0.002, 0.0, 0.002, -0.001]
    runs = arms_table({"retrain": tight, "original": tight, "a": tight})
    row = sex_verdict(runs)
    assert row["methods_counted"] == "a" and row["methods_failed"] == "none"


def test_combine_over_datasets():
    assert paper.combine(["agree", "agree"]) == "agree"
    assert paper.combine(["agree", "inconclusive"]) == "mixed"
    assert paper.combine(["agree", "disagree"]) == "mixed"
    assert paper.combine(["inconclusive", "mixed"]) == "mixed"
    assert paper.combine([]) == "inconclusive"


def test_the_rule_applies_to_plain_numbers_of_any_split():
    assert failures.fails(acc=0.675, bacc=0.40, majority_rate=0.669, reference_bacc=0.40)
    assert failures.fails(acc=0.72, bacc=0.29, majority_rate=0.669, reference_bacc=0.40)
    assert not failures.fails(acc=0.72, bacc=0.31, majority_rate=0.669, reference_bacc=0.40)

"""The per-example attacks' table and the ranking verdict on synthetic rows whose answer is known."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from unlearnlib.evaluation import lira
from unlearnlib.report import paper, per_example_verdict as pev

SEEDS = range(6)
METHODS = ["m1", "m2", "m3", "m4", "m5", "m6"]


def _attack_row(dataset, method, seed, auc, tpr, status="ok"):
    return {"dataset": dataset, "method": method, "seed": seed, "status": status, "auc": auc, "tpr_at_1pct": tpr,
            "tpr_at_0p1pct": tpr / 2, "flagged_at_1pct": tpr, "tpr_curve": json.dumps([min(1.0, tpr + f) for f in lira.ROC_GRID])}


def _rows(leak: dict[str, float], *, dataset="breastmnist", noise=0.01, seed=0):
    """Attack rows: the original leaks everything, retrain nothing, method m leaks ``leak[m]``."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in SEEDS:
        rows.append(_attack_row(dataset, "original", s, 0.95, 0.6))
        rows.append(_attack_row(dataset, "retrain", s, 0.5 + rng.normal(0, noise), 0.01))
        for m, value in leak.items():
            rows.append(_attack_row(dataset, m, s, 0.5 + value / 2 + rng.normal(0, noise), 0.01 + value + rng.normal(0, noise / 5)))
    return pd.DataFrame(rows)


def _results(mia_gap: dict[str, float], *, dataset="breastmnist"):
    return pd.DataFrame([{"dataset": dataset, "method": m, "seed": s, "gap_mia_efficacy": v} for m, v in mia_gap.items() for s in SEEDS])


def test_a_method_that_kept_the_forget_set_is_more_identifiable_and_one_like_retraining_is_not():
    table = pev.per_example_table(_rows({"m1": 0.4, "m2": 0.0}), attack="U-LiRA").set_index("method")
    assert table.loc["m1", "verdict"] == pev.MORE
    assert table.loc["m1", "auc_ci_low"] > 0
    assert table.loc["m2", "verdict"] == pev.NOT_SHOWN
    assert table.loc["m2", "auc_ci_low"] < 0 < table.loc["m2", "auc_ci_high"]
    assert table.loc["retrain", "auc_vs_retrain"] == 0  # the calibration against itself
    assert table.loc["original", "verdict"] == pev.MORE  # the calibration far above chance
    assert (table["n_seeds"] == len(SEEDS)).all()


def test_an_attack_that_failed_is_counted_as_failed_not_as_a_seed():
    rows = _rows({"m1": 0.4})
    rows.loc[(rows.method == "m1") & (rows.seed == 0), ["status", "auc"]] = ["diverged: every shadow run diverged", np.nan]
    row = pev.per_example_table(rows).set_index("method").loc["m1"]
    assert (row.failed_runs, row.runs, row.n_seeds) == (1, len(SEEDS), len(SEEDS) - 1)


def test_the_mean_roc_averages_each_fpr_over_seeds():
    roc = pev.mean_roc(_rows({"m1": 0.2}))
    original = roc[roc.method == "original"]
    assert list(original.fpr) == list(lira.ROC_GRID)
    assert np.allclose(original.tpr, [min(1.0, 0.6 + f) for f in lira.ROC_GRID])


def test_rankings_that_agree_are_alike_and_reversed_ones_unlike():
    leak = dict(zip(METHODS, [0.0, 0.05, 0.1, 0.2, 0.3, 0.4]))
    rows = _rows(leak)
    same = pev.ranking_table(rows, _results(dict(zip(METHODS, [0.01, 0.02, 0.05, 0.1, 0.2, 0.3]))))
    assert same.loc[0, "verdict"] == pev.ALIKE and same.loc[0, "rho"] == pytest.approx(1.0)
    reversed_ = pev.ranking_table(rows, _results(dict(zip(METHODS, [0.3, 0.2, 0.1, 0.05, 0.02, 0.01]))))
    assert reversed_.loc[0, "verdict"] == pev.UNLIKE and reversed_.loc[0, "ci_high"] < pev.STRONG_RHO
    assert pev.judge_ranking(same)["verdict"] == "agree"
    assert pev.judge_ranking(reversed_)["verdict"] == "disagree"
    both = pd.concat([same, reversed_.assign(dataset="ham10000")], ignore_index=True)
    row = pev.judge_ranking(both)
    assert row["verdict"] == "mixed" and row["estimate"] == pytest.approx(-1.0)
    assert row["estimate_label"].startswith("ham10000: Spearman rho")  # the estimate names the dataset it comes from


def test_a_failing_method_is_not_ranked_and_too_few_methods_are_undetermined():
    leak = dict(zip(METHODS, [0.0, 0.05, 0.1, 0.2, 0.3, 0.4]))
    mia = _results(dict(zip(METHODS, [0.01, 0.02, 0.05, 0.1, 0.2, 0.3])))
    ranking = pev.ranking_table(_rows(leak), mia, failing={("breastmnist", "m6"): (2, 6)})
    assert "m6" not in ranking.loc[0, "methods_counted"] and ranking.loc[0, "n_methods"] == 5
    assert ranking.loc[0, "failed"] == {"breastmnist: m6 (unlearning)": (2, 6)}
    few = pev.ranking_table(_rows(dict(list(leak.items())[:3])), mia)
    assert few.loc[0, "verdict"] == pev.UNDETERMINED and np.isnan(few.loc[0, "rho"])
    assert pev.judge_ranking(few)["verdict"] == "inconclusive"


def test_the_ranking_claim_is_declared_among_the_study_claims():
    declared = paper.claim("per_example_ranking")
    assert declared["source"] == "this study" and str(pev.STRONG_RHO) in declared["rule"]


def test_the_attack_cost_counts_each_shared_model_set_once_and_each_methods_shadows_once():
    ulira = pd.DataFrame([{"dataset": "breastmnist", "method": m, "seed": s, "design": "d", "shadow_train_seconds": 100.0,
                           "shadow_method_seconds": {"ssd": 10.0, "salun": 30.0}[m], "method_seconds": 1.0}
                          for m in ("ssd", "salun") for s in range(3)])
    offline = pd.DataFrame([{"dataset": "ham10000", "method": m, "seed": s, "references": "r", "reference_seconds": 50.0,
                             "method_seconds": 2.0} for m in ("ssd", "salun") for s in range(2)])
    cost = pev.attack_cost(pd.concat([ulira, offline], ignore_index=True)).set_index("dataset")
    b, h = cost.loc["breastmnist"], cost.loc["ham10000"]
    assert (b.shared_models_s, b.shadow_unlearning_s, b.attacked_runs_s, b.rows) == (100.0, 40.0, 6.0, 6)
    assert (h.shared_models_s, h.shadow_unlearning_s, h.attacked_runs_s) == (50.0, 0.0, 8.0)
    assert h.core_hours == pytest.approx(58.0 / 3600) and h.beyond_shared_core_hours == pytest.approx(8.0 / 3600)


def test_a_dataset_without_enough_counted_methods_reads_as_such_not_as_nan():
    from unlearnlib.report import findings

    ranking = pd.DataFrame([{"dataset": "breastmnist", "n_methods": 0, "rho": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "verdict": pev.UNDETERMINED}])
    lines = findings.per_example(pd.DataFrame(columns=["dataset", "method"]), ranking)
    assert lines == [f"breastmnist: per-example TPR at 1 % FPR vs |MIA-efficacy gap| over 0 counted methods: no rank correlation "
                     f"(fewer than {pev.MIN_METHODS} counted methods): {pev.UNDETERMINED}."]

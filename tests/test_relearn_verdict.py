"""What the relearning attack changes, judged against retraining: the change table's arithmetic,
Holm within (dataset, forget set, k), the classes, and the study verdict's four outcomes."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from unlearnlib.report import paper
from unlearnlib.evaluation import stats as report
from unlearnlib.report.relearn_verdict import (LESS, LIKE, MORE, RELEARNING_CLAIM, RELEARNING_HARD_CLAIM, SURVIVAL_MARGIN, UNDETERMINED, changes_within_floor, class_counts,
                                        judge_relearning, relearning_change_table, relearning_table, verdict_line)


def _rows(changes: dict, *, k: int = 0, dataset: str = "d", retrain_change=(0.01, 0.02, 0.00, 0.01), before=0.8) -> pd.DataFrame:
    """Relearning rows: per method its attack changes per seed (the retrain's changes as given)."""
    out = []
    for method, deltas in {"original": (0.0, -0.01, 0.01, 0.0), "retrain": retrain_change, **changes}.items():
        for seed, (delta, r_delta) in enumerate(zip(deltas, retrain_change)):
            own_before = 0.7 if method == "retrain" else before
            own_after = own_before + (r_delta if method == "retrain" else delta)
            out.append({"dataset": dataset, "scenario": "random", "scenario_fraction": 0.1, "k_forget": k, "seed": seed, "method": method,
                        "status": "ok", "forget_size": 55, "forget_acc_before": own_before, "relearn_forget_acc": own_after,
                        "retrain_forget_acc_before": 0.7, "retrain_relearn_forget_acc": 0.7 + r_delta})
    return pd.DataFrame(out)


def test_the_change_table_pairs_the_excess_change_over_seeds_and_holms_within_each_k():
    a, b, c = (0.20, 0.22, 0.18, 0.21), (0.01, 0.02, 0.0, 0.02), (0.05, -0.04, 0.10, 0.0)
    rows = pd.concat([_rows({"a": a, "b": b, "c": c}, k=0), _rows({"a": b, "b": a, "c": c}, k=5)], ignore_index=True)
    table = relearning_change_table(rows, margin=0.03)
    assert list(table.columns[:6]) == ["dataset", "scenario", "scenario_fraction", "k_forget", "method", "forget_acc_before"]
    retrain = np.array((0.01, 0.02, 0.00, 0.01))
    row = table[(table.k_forget == 0) & (table.method == "a")].iloc[0]
    excess = np.array(a) - retrain
    assert row.attack_change == pytest.approx(np.mean(a)) and row.retrain_attack_change == pytest.approx(retrain.mean())
    assert row.excess_change == pytest.approx(excess.mean())
    half = stats.t.ppf(0.975, 3) * excess.std(ddof=1) / 2
    assert (row.ci_low, row.ci_high) == pytest.approx((excess.mean() - half, excess.mean() + half))
    half90 = stats.t.ppf(0.95, 3) * excess.std(ddof=1) / 2
    assert (row.ci90_low, row.ci90_high) == pytest.approx((excess.mean() - half90, excess.mean() + half90))
    assert row.p_value == pytest.approx(stats.ttest_1samp(excess, 0).pvalue)
    assert row.p_equivalence == pytest.approx(report.tost_p_value(excess, 0.03))
    assert row.n_seeds == 4 and row.failed_runs == 0 and row.runs == 4 and row.forget_unseen == 55 and row.margin == 0.03
    # Holm over a, b, c within each k; the references are outside every family.
    for k, part in table.groupby("k_forget"):
        tested = part[part.method.isin(["a", "b", "c"])]
        assert tested.p_adjusted.to_numpy() == pytest.approx(report.adjust_p_values(tested.p_value, "holm"))
        assert part[part.method.isin(["original", "retrain"])].p_adjusted.isna().all()
    by = table.set_index(["k_forget", "method"]).verdict
    assert by[(0, "a")] == MORE and by[(5, "b")] == MORE and by[(0, "retrain")] == "reference (0 by construction)"
    assert by[(0, "b")] == LIKE and by[(0, "c")] == UNDETERMINED
    assert table.loc[table.method == "retrain", "excess_change"].eq(0).all()
    counts = class_counts(table).set_index("k_forget")
    assert counts.loc[0, MORE] == 1 and counts.loc[0, LIKE] == 1 and counts.loc[0, UNDETERMINED] == 1


def test_failed_attacks_are_reported_not_counted_and_the_margin_falls_back_to_the_declared_one():
    rows = _rows({"a": (0.01, 0.02, 0.0, 0.01)})
    rows.loc[(rows.method == "a") & (rows.seed == 3), ["status", "relearn_forget_acc"]] = ["diverged: nan loss", np.nan]
    table = relearning_change_table(rows)
    row = table[table.method == "a"].iloc[0]
    assert row.failed_runs == 1 and row.runs == 4 and row.n_seeds == 3
    assert row.margin == SURVIVAL_MARGIN and "fallback" in row.margin_source
    assert relearning_change_table(rows, margin=0.02).margin_source.eq("given").all()
    verdict = judge_relearning(table)
    assert verdict["methods_counted"] == "none" and "d k=0: a (attack) (1 of 4)" in verdict["methods_failed"]


def test_a_method_whose_forget_accuracy_falls_under_the_attack_does_not_recover():
    """Fine-tuning and SSD on HAM10000 (issue 33): far above retraining before the attack, lower after
    it. The level verdict called that "recovers"; what the attack changed says the opposite."""
    falls = (-0.10, -0.12, -0.09, -0.11)
    rows = _rows({"finetune": falls}, before=0.95)
    rows["relearn_gap"] = rows["relearn_forget_acc"] - rows["retrain_relearn_forget_acc"]
    for column in ("original_relearn_forget_acc", "relearn_test_acc"):
        rows[column] = 0.9
    level = relearning_table(rows).set_index("method")
    assert level.loc["finetune", "verdict"] == "recovers under relearning"  # the old reading
    change = relearning_change_table(rows, margin=0.05).set_index("method")
    assert change.loc["finetune", "attack_change"] < 0 and change.loc["finetune", "excess_change"] < 0
    assert change.loc["finetune", "verdict"] == LESS != MORE
    assert judge_relearning(change.reset_index())["verdict"] != "disagree"


def _table(verdicts: dict, *, failed: dict | None = None) -> pd.DataFrame:
    rows = [{"dataset": "d", "scenario": "random", "k_forget": k, "method": m, "verdict": v, "excess_change": 0.1 if v == MORE else 0.0,
             "ci_low": 0.05 if v == MORE else -0.01, "ci_high": 0.15 if v == MORE else 0.01, "failed_runs": (failed or {}).get(m, 0),
             "runs": 5, "margin": 0.05}
            for (m, k), v in verdicts.items()]
    references = [{"dataset": "d", "scenario": "random", "k_forget": 0, "method": m, "verdict": LIKE, "excess_change": 0.0, "ci_low": 0.0,
                   "ci_high": 0.0, "failed_runs": 0, "runs": 5, "margin": 0.05} for m in ("original", "retrain")]
    return pd.DataFrame(references + rows)


@pytest.mark.parametrize("verdicts, expected", [
    ({("a", 0): LIKE, ("a", 5): LIKE, ("b", 0): LIKE}, "agree"),
    ({("a", 0): MORE, ("a", 5): MORE, ("b", 0): UNDETERMINED}, "disagree"),
    ({("a", 0): MORE, ("b", 0): LIKE}, "mixed"),
    ({("a", 0): LIKE, ("b", 0): UNDETERMINED}, "inconclusive"),
    ({("a", 0): LESS}, "agree"),  # the claim says "no more": recovering less than after retraining supports it
    ({("a", 0): LESS, ("b", 0): MORE}, "mixed"),
    ({}, "inconclusive"),
])
def test_judge_relearning_gives_each_of_the_four_outcomes(verdicts, expected):
    row = judge_relearning(_table(verdicts))
    assert row["verdict"] == expected
    assert set(paper.VERDICT_COLUMNS) <= set(row) and row["verdict"] in paper.VERDICTS
    assert row["finding"] == "relearning" and row["rule"] == RELEARNING_CLAIM["rule"]
    if MORE in verdicts.values():
        assert row["estimate"] == pytest.approx(0.1) and (row["ci_low"], row["ci_high"]) == pytest.approx((0.05, 0.15))
        method, k = next(key for key, v in verdicts.items() if v == MORE)
        assert row["estimate_label"].startswith(f"d k={k}: {method}: ")  # the estimate names its comparison: dataset, k, method
    assert "original" not in row["methods_counted"] and "retrain" not in row["methods_counted"]
    assert verdict_line(row).startswith(f"**Verdict:** {expected} (Relearning attack:")
    paper.verdict_table([row])  # a verdict row as every notebook writes one


def test_a_method_with_failed_unlearning_runs_is_reported_and_not_counted():
    table = _table({("a", 0): LIKE, ("ssd", 0): MORE, ("ssd", 5): MORE})
    row = judge_relearning(table, failing={("d", "ssd"): (3, 5)})
    assert row["verdict"] == "agree" and row["methods_counted"] == "d k=0: a" and "ssd (unlearning) (3 of 5)" in row["methods_failed"]
    assert judge_relearning(table)["verdict"] == "mixed"


def test_the_claim_is_declared_as_the_paper_declares_its_findings():
    declared = {key for item in paper.FINDINGS for key in item}
    assert set(RELEARNING_CLAIM) <= declared and {"quote", "reading", "rule", "margin_metrics"} <= set(RELEARNING_CLAIM)
    assert RELEARNING_CLAIM["key"] == "relearning" and RELEARNING_CLAIM["notebook"] == "07"
    assert RELEARNING_CLAIM in paper.STUDY_CLAIMS and RELEARNING_CLAIM["margin_metrics"] == ("forget_acc",)
    assert "0, 5, 25" in RELEARNING_CLAIM["rule"] and "Holm" in RELEARNING_CLAIM["rule"] and "TOST" in RELEARNING_CLAIM["rule"]
    # No result is typed into the rule: its only numbers are the ks, alpha and the interval levels.
    import re

    assert set(re.findall(r"\d+(?:\.\d+)?", RELEARNING_CLAIM["rule"])) <= {"0", "5", "25", "0.05", "90", "95"}


def test_the_hard_sets_are_judged_by_the_same_sentence_and_rule_as_their_own_claim():
    # Notebook 05 judges its hard sets apart (issue 33, item 8): its own row of verdicts.csv, 07's quote and rule.
    assert RELEARNING_HARD_CLAIM in paper.STUDY_CLAIMS and RELEARNING_HARD_CLAIM["notebook"] == "05"
    assert RELEARNING_HARD_CLAIM["quote"] == RELEARNING_CLAIM["quote"] and "The rule of 'Relearning attack'" in RELEARNING_HARD_CLAIM["rule"]
    table = _table({("a", 0): LIKE, ("ssd", 0): MORE})
    row = judge_relearning(table, failing={("d", "ssd"): (1, 5)}, claim=RELEARNING_HARD_CLAIM)
    assert row["finding"] == "relearning_hard" and row["verdict"] == "agree" and row["rule"] == RELEARNING_HARD_CLAIM["rule"]
    assert judge_relearning(table, claim=RELEARNING_HARD_CLAIM)["verdict"] == "mixed"
    assert verdict_line(row).startswith("**Verdict:** agree (Relearning attack, most memorized images:")
    assert len(paper.verdict_table([judge_relearning(table), row])) == 2  # two claims, two rows of verdicts.csv


def test_each_dataset_is_judged_within_its_own_noise_floor():
    rows = pd.concat([_rows({"a": (0.0, 0.01, 0.0, 0.01)}, dataset="d"), _rows({"a": (0.0, 0.01, 0.0, 0.01)}, dataset="e")])
    table = changes_within_floor(rows, {"d": {"forget_acc": 0.03}, "e": {"forget_acc": 0.07}})
    assert table.groupby("dataset", sort=False)["margin"].first().to_dict() == {"d": 0.03, "e": 0.07}
    assert set(table["margin_source"]) == {"forget_acc on d: ±0.03, handed in as a number (no noise-floor statistic)",
                                           "forget_acc on e: ±0.07, handed in as a number (no noise-floor statistic)"}
    alone = relearning_change_table(rows[rows.dataset == "e"], margin=0.07).drop(columns="margin_source")
    pd.testing.assert_frame_equal(table[table.dataset == "e"].drop(columns="margin_source").reset_index(drop=True), alone)


def test_the_findings_name_the_forget_sets_they_describe():
    from unlearnlib.report import findings

    table = relearning_change_table(_rows({"a": (0.0, 0.01, 0.0, 0.01)}), margin=0.05)
    lines = findings.relearning_changes(table, margin=0.05, where=" (hard sets)")
    assert lines[0].startswith("d (hard sets), 0 forget images in the attack") and all("(hard sets)" in line for line in lines)


def test_groups_with_missing_scenario_parameters_are_kept():
    main = _rows({"a": (0.0, 0.01, 0.0, 0.01)})
    hard = _rows({"a": (0.0, 0.01, 0.0, 0.01)}).drop(columns="scenario_fraction").assign(scenario="difficulty", scenario_kind="hard")
    table = relearning_change_table(pd.concat([main, hard], ignore_index=True), margin=0.05)
    assert len(table) == 6 and set(table.scenario) == {"random", "difficulty"}
    assert list(itertools.islice(table.columns, 5)) == ["dataset", "scenario", "scenario_fraction", "scenario_kind", "k_forget"]

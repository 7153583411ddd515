"""The verdict rules of findings 1, 3 and 4, tuning cost and the no-difference claims, on
hand-made runs and hand-made margins (issue 33): each outcome, Holm applied, failures never counted."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unlearnlib.evaluation import failures, stats as report
from unlearnlib.report import paper_rules

MAJORITY = {"ham10000": 0.669, "breastmnist": 0.5}
MARGINS = {d: {"retain_acc": 0.02, "forget_acc": 0.02, "test_acc": 0.02, "mia_efficacy": 0.02, "avg_gap": 0.02} for d in MAJORITY}
NOISE = np.array([0.002, -0.001, 0.0, 0.001, -0.002, 0.0015, -0.0005, 0.0, 0.001, -0.001])
WIDE = np.array([0.03, -0.02, 0.04, -0.01, 0.02, -0.03, 0.035, -0.025, 0.01, 0.0])


def run(method, seed, *, dataset="ham10000", **values) -> dict:
    row = {"dataset": dataset, "scenario": "random", "scenario_fraction": 0.1, "method": method, "seed": seed, "test_acc": 0.72,
           "test_bacc": 0.40, "retrain_test_bacc": 0.40, "retain_acc": 0.95, "forget_acc": 0.75, "mia_efficacy": 0.55,
           "retrain_retain_acc": 0.95, "retrain_forget_acc": 0.75, "avg_gap": 0.05,
           **{f"gap_{m}": 0.02 for m in failures.BALANCED_GAP_METRICS}}
    return row | values


def main_table(methods: dict[str, tuple], seeds: int = 5, dataset: str = "ham10000") -> pd.DataFrame:
    """methods: name -> (retain offsets, forget offsets) from the same seed's retrain, per seed."""
    rows = []
    for seed in range(seeds):
        rows += [run("original", seed, dataset=dataset, retain_acc=1.0, forget_acc=1.0, mia_efficacy=0.95),
                 run("retrain", seed, dataset=dataset)]
        for name, (retain, forget) in methods.items():
            rows.append(run(name, seed, dataset=dataset, retain_acc=0.95 + retain[seed], forget_acc=0.75 + forget[seed]))
    return failures.with_damage(pd.DataFrame(rows), MAJORITY, MARGINS)


WELL, FAR = (NOISE, NOISE), (NOISE, NOISE + 0.15)


@pytest.mark.parametrize("methods, expected", [
    ({"a": WELL, "b": WELL, "c": WELL}, "agree"),
    ({"a": FAR, "b": FAR}, "disagree"),
    ({"a": WELL, "b": FAR}, "mixed"),
    ({"a": WELL, "b": (NOISE, WIDE)}, "inconclusive"),  # one of two performs well: not more than half, none fails to
    ({"a": (WIDE, WIDE), "b": (WIDE, NOISE)}, "inconclusive"),
])
def test_finding_1_counts_methods_per_dataset(methods, expected):
    row, tests, states = paper_rules.judge_performs_well(main_table(methods), MARGINS)
    assert row["verdict"] == expected and set(states["dataset_verdict"]) == {expected}
    assert row["interval_level"] == 0.90 and "retain_acc ±0.02, forget_acc ±0.02" in row["margin"]
    assert set(tests["metric"]) == {"retain_acc", "forget_acc"}


def test_finding_1_a_method_that_did_nothing_is_failing_never_performing_well():
    table = main_table({"a": WELL, "b": WELL})
    copy = table[table.method == "original"].assign(method="does_nothing")
    table = pd.concat([table, failures.with_damage(copy, MAJORITY)], ignore_index=True)  # checked without margins: the judge checks
    row, _, states = paper_rules.judge_performs_well(table, MARGINS)
    assert row["verdict"] == "agree" and row["methods_counted"] == "ham10000: a, ham10000: b"
    assert row["methods_failed"] == "ham10000: does_nothing (5 of 5: did nothing 5)"
    assert states.set_index("method").loc["does_nothing", "state"] == "failing"


def test_finding_1_holm_runs_over_the_datasets_methods_times_the_two_metrics():
    # Forget accuracy 0.03 above retrain's, spread enough that t alone is significant but Holm over 6 tests is not.
    nudged = np.array([0.01, 0.05, 0.03, 0.045, 0.015])
    table = main_table({"a": (NOISE, nudged), "b": WELL, "c": WELL})
    tests = paper_rules.versus_retrain(table, MARGINS).set_index(["method", "metric"])
    assert len(tests) == 6
    np.testing.assert_allclose(tests["p_adjusted"], report.adjust_p_values(tests["p_value"]))
    a = tests.loc[("a", "forget_acc")]
    assert a.p_value < 0.05 < a.p_adjusted and a.result == "undetermined"
    _, _, states = paper_rules.judge_performs_well(table, MARGINS)
    assert states.set_index("method").loc["a", "state"] == "undetermined"


def test_finding_1_over_datasets_combines_and_names_the_furthest_estimate():
    table = pd.concat([main_table({"a": WELL, "b": WELL}), main_table({"a": FAR, "b": FAR}, dataset="breastmnist")], ignore_index=True)
    row, _, states = paper_rules.judge_performs_well(table, MARGINS)
    assert states.groupby("dataset")["dataset_verdict"].first().to_dict() == {"ham10000": "agree", "breastmnist": "disagree"}
    assert row["verdict"] == "mixed" and row["estimate_label"].startswith("breastmnist ") and "forget_acc" in row["estimate_label"]
    assert row["estimate"] == pytest.approx(0.15 + NOISE[:5].mean())


# -- finding 3 --------------------------------------------------------------------------------

def ends_table(extra: dict[str, np.ndarray], seeds: int = 10) -> pd.DataFrame:
    """Runs at 1 % and 50 %: retrain loses 0.02 (with noise); each method loses that plus its extra drop per seed."""
    rows = []
    for seed in range(seeds):
        retrain_drop = 0.02 + NOISE[seed]
        for fraction, lost in ((0.01, 0.0), (0.5, 1.0)):
            rows += [run("original", seed, scenario_fraction=fraction, forget_acc=1.0, mia_efficacy=0.95),
                     run("retrain", seed, scenario_fraction=fraction, test_acc=0.82 - lost * retrain_drop)]
            rows += [run(m, seed, scenario_fraction=fraction, test_acc=0.82 - lost * (retrain_drop + e[seed])) for m, e in extra.items()]
    return failures.with_damage(pd.DataFrame(rows), MAJORITY, MARGINS)


LOSES, SAME = 0.06 + NOISE[::-1], NOISE * 0.5


@pytest.mark.parametrize("extra, expected", [
    ({"a": LOSES, "b": LOSES, "c": SAME}, "agree"),
    ({"a": SAME, "b": SAME}, "disagree"),
    ({"a": LOSES, "b": SAME, "c": SAME}, "mixed"),
    ({"a": WIDE, "b": WIDE * 1.5}, "inconclusive"),
    ({"a": LOSES, "b": WIDE * 1.5, "c": WIDE * 2}, "inconclusive"),  # one of three loses more, the rest undetermined
])
def test_finding_3_compares_each_methods_drop_with_the_same_seeds_retrain(extra, expected):
    row, table = paper_rules.judge_forget_size(ends_table(extra), MARGINS)
    assert row["verdict"] == expected and row["interval_level"] == 0.95
    retrain = table.set_index("method").loc["retrain"]
    assert retrain["metric"] == "drop" and retrain["difference"] == pytest.approx(0.02 + NOISE.mean())  # context
    assert table.loc[table.method == "a", "pairs"].iloc[0] == 10


def test_finding_3_extra_drop_is_paired_and_holm_adjusted():
    row, table = paper_rules.judge_forget_size(ends_table({"a": LOSES, "b": SAME}), MARGINS)
    tested = table[table.metric == "extra_drop"].set_index("method")
    assert tested.loc["a", "difference"] == pytest.approx(LOSES.mean()) and tested.loc["a", "result"] == "higher"
    np.testing.assert_allclose(tested["p_adjusted"], report.adjust_p_values(tested["p_value"]))
    assert row["estimate_label"].startswith("a: ") and row["estimate"] == pytest.approx(LOSES.mean())


# -- finding 4, and the no-difference claims ---------------------------------------------------

def arms(diffs: dict[str, np.ndarray], a="hard", b="easy", column="scenario_kind") -> pd.DataFrame:
    rows = []
    for seed in range(5):
        for arm in (a, b):
            rows += [run("original", seed, forget_acc=1.0, mia_efficacy=0.95, avg_gap=0.2 if arm == a else 0.1, **{column: arm}),
                     run("retrain", seed, avg_gap=0.0, **{column: arm})]
            rows += [run(m, seed, avg_gap=0.05 + (d[seed] if arm == a else 0.0), **{column: arm}) for m, d in diffs.items()]
    return failures.with_damage(pd.DataFrame(rows), MAJORITY, MARGINS)


def differences_of(runs, a="hard", b="easy", column="scenario_kind", margin=0.02) -> pd.DataFrame:
    d = report.paired_difference(runs, column=column, a=a, b=b, metric="avg_gap", by=["method"], margin=margin)
    methods = d[~d.method.isin(["original", "retrain"])]
    return d.merge(report.with_adjusted_p(methods, method="holm")[["method", "p_adjusted"]], on="method", how="left")


HARDER, EASIER = 0.08 + NOISE[:5], -0.08 + NOISE[:5]


@pytest.mark.parametrize("diffs, expected", [
    ({"a": HARDER, "b": EASIER, "c": NOISE[:5]}, "agree"),  # biased both ways: two of three
    ({"a": NOISE[:5], "b": NOISE[:5], "c": HARDER}, "mixed"),
    ({"a": NOISE[:5], "b": NOISE[:5]}, "disagree"),
    ({"a": WIDE[:5], "b": WIDE[:5] * 2}, "inconclusive"),
])
def test_finding_4_counts_bias_in_either_direction(diffs, expected):
    runs = arms(diffs)
    row = paper_rules.judge_bias("difficulty", differences_of(runs), runs, margins=MARGINS, dataset="ham10000")
    assert row["verdict"] == expected and row["interval_level"] == 0.95


def test_finding_4_easier_alone_is_a_bias_and_the_share_closed_is_secondary():
    runs = arms({"a": EASIER, "b": EASIER})
    assert paper_rules.judge_bias("difficulty", differences_of(runs), runs, margins=MARGINS, dataset="ham10000")["verdict"] == "agree"
    closed = paper_rules.gap_closed(arms({"a": NOISE[:5]})).set_index("method")
    # a method at 0.05 closes 75 % of the hard sets' 0.2 and 50 % of the easy sets' 0.1
    assert closed.loc["a", "difference"] == pytest.approx(np.mean((0.2 - 0.05 - NOISE[:5]) / 0.2 - 0.5))
    assert "p_adjusted" in closed and list(closed.index) == ["a"]


def test_no_difference_claims_take_their_margin_from_the_margins_argument():
    runs = arms({"a": NOISE[:5], "b": NOISE[:5]}, a="male", b="female", column="scenario_sex")
    differences = differences_of(runs, a="male", b="female", column="scenario_sex")
    row = paper_rules.judge_no_difference("sex_bias", differences, runs, margins=MARGINS, dataset="ham10000")
    assert row["verdict"] == "agree" and row["margin"] == "ham10000: avg_gap ±0.02" and "handed in" in row["margin_reason"]
    assert row["interval_level"] == 0.90
    with pytest.raises(ValueError, match="not the noise floor's 0.03"):
        paper_rules.judge_no_difference("sex_bias", differences, runs, margins={"ham10000": {"avg_gap": 0.03, **MARGINS["ham10000"]}
                                                                                 | {"avg_gap": 0.03}}, dataset="ham10000")
    with pytest.raises(KeyError, match="Holm"):
        paper_rules.judge_no_difference("sex_bias", differences.drop(columns="p_adjusted"), runs, margins=MARGINS, dataset="ham10000")


def test_the_estimate_of_a_tost_claim_carries_the_90_percent_interval():
    row = pd.Series({"difference": 0.01, "ci_low": 0.0, "ci_high": 0.02, "pairs": 5})
    low, high = paper_rules.interval_at(row, 0.90)
    from scipy import stats
    assert high - 0.01 == pytest.approx(0.01 * stats.t.ppf(0.95, 4) / stats.t.ppf(0.975, 4))
    assert low == pytest.approx(0.02 - high)


# -- tuning cost ------------------------------------------------------------------------------

def tuning(costs: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d, "objective": "retrain", "method": f"m{i}", "cost_in_retrains": c}
                         for d, cs in costs.items() for i, c in enumerate(cs)])


def test_tuning_cost_counts_the_retrain_its_objective_needs():
    table = tuning({"a": [0.2, 0.3, 0.5], "b": [0.05, 0.1, 0.1]})
    costs = paper_rules.tuning_costs(table).set_index("dataset")
    assert costs.loc["a", "median_tuning_only"] == pytest.approx(0.3) and costs.loc["a", "median_cost"] == pytest.approx(1.3)
    row = paper_rules.judge_cost("tuning_cost", table, ["m0", "m1", "m2"])
    assert row["verdict"] == "agree" and row["estimate"] == pytest.approx(1.1)  # without the retrain: below 1, "disagree"
    assert paper_rules.judge_cost("tuning_cost", tuning({"a": [-0.5, -0.4]}), ["x"])["verdict"] == "disagree"
    assert paper_rules.judge_cost("tuning_cost", tuning({"a": [2.0], "b": [-0.5]}), ["x"])["verdict"] == "mixed"
    assert paper_rules.judge_cost("tuning_cost", tuning({}).reindex(columns=["dataset", "objective", "cost_in_retrains"]),
                                  ["x"])["verdict"] == "inconclusive"


@pytest.mark.parametrize("states, expected", [
    (["performs well", "performs well", "undetermined"], "agree"),
    (["performs well", "does not"], "mixed"),
    (["does not", "does not", "undetermined"], "disagree"),
    (["performs well", "undetermined"], "inconclusive"),
    ([], "inconclusive"),
])
def test_performs_well_verdict(states, expected):
    assert paper_rules.performs_well_verdict(states) == expected


@pytest.mark.parametrize("classes, expected", [
    (["higher", "higher", "equivalent"], "agree"),
    (["higher", "equivalent", "equivalent"], "mixed"),
    (["higher", "lower", "undetermined"], "mixed"),
    (["equivalent", "equivalent", "lower"], "disagree"),
    (["equivalent", "undetermined", "undetermined"], "inconclusive"),
    (["higher", "undetermined", "undetermined"], "inconclusive"),
])
def test_more_loss_verdict(classes, expected):
    assert paper_rules.more_loss_verdict(classes) == expected


@pytest.mark.parametrize("classes, expected", [
    (["higher", "lower", "equivalent"], "agree"),
    (["higher", "equivalent", "equivalent"], "mixed"),
    (["equivalent", "equivalent", "undetermined"], "disagree"),
    (["undetermined", "undetermined", "higher"], "inconclusive"),
    ([], "inconclusive"),
])
def test_bias_verdict(classes, expected):
    assert paper_rules.bias_verdict(classes) == expected


def test_a_margin_from_the_noise_floor_table_gives_its_reason_from_the_statistic():
    table = pd.DataFrame([{"dataset": "ham10000", "metric": m, "margin": 0.02, "pairs": 50,
                           "statistic": "95th percentile of |retrain - second retrain| over the analyses"}
                          for m in ("avg_gap", "forget_acc", "mia_efficacy")])
    runs = arms({"a": NOISE[:5], "b": NOISE[:5]}, a="male", b="female", column="scenario_sex")
    row = paper_rules.judge_no_difference("sex_bias", differences_of(runs, a="male", b="female", column="scenario_sex"), runs,
                                          margins=table, dataset="ham10000")
    assert row["margin_reason"] == "avg_gap on ham10000: ±0.02, the 95th percentile of |retrain - second retrain| over the analyses (50 pairs)"

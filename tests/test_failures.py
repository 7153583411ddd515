"""The failure rule's second half (issue 33 item 4): a run that did nothing fails, with its reason;
and the margins it reads are arguments (``unlearnlib.evaluation.floor_margins``)."""
from __future__ import annotations

import pandas as pd
import pytest

from unlearnlib.evaluation import failures, floor_margins

MAJORITY = {"ham10000": 0.669}
MARGINS = {"ham10000": {"forget_acc": 0.02, "mia_efficacy": 0.03}}
ORIGINAL = {"forget_acc": 0.98, "mia_efficacy": 0.90}


def run(method: str, seed: int = 0, **values) -> dict:
    row = {"dataset": "ham10000", "scenario": "random", "scenario_fraction": 0.1, "scenario_sex": None, "method": method, "seed": seed,
           "test_acc": 0.72, "test_bacc": 0.40, "retrain_test_bacc": 0.40, "forget_acc": 0.70, "mia_efficacy": 0.50,
           **{f"gap_{m}": 0.02 for m in failures.BALANCED_GAP_METRICS}}
    return row | values


def rows(*extra: dict) -> pd.DataFrame:
    return pd.DataFrame([run("original", **ORIGINAL), run("retrain"), *extra])


def test_a_copy_of_the_original_did_nothing_and_fails_with_its_reason():
    table = failures.with_damage(rows(run("copy", **ORIGINAL), run("works")), MAJORITY, MARGINS).set_index("method")
    assert failures.did_nothing(rows(run("copy", **ORIGINAL)), MARGINS).tolist() == [False, False, True]
    assert bool(table.loc["copy", "failed"]) and table.loc["copy", "failure"] == failures.DID_NOTHING
    assert table.loc["copy", "failure_kind"] == "did nothing"
    assert not table.loc["works", "failed"] and table.loc["works", "failure"] == ""
    # the references are never judged as doing nothing, though the original is a copy of itself
    assert not table.loc["original", "failed"] and not table.loc["retrain", "failed"]


def test_a_run_that_moved_forget_accuracy_beyond_the_margin_did_something():
    moved = run("moved", forget_acc=ORIGINAL["forget_acc"] - 0.021, mia_efficacy=ORIGINAL["mia_efficacy"])
    inside = run("inside", forget_acc=ORIGINAL["forget_acc"] - 0.019, mia_efficacy=ORIGINAL["mia_efficacy"] + 0.029)
    mia_only = run("mia_only", forget_acc=ORIGINAL["forget_acc"], mia_efficacy=ORIGINAL["mia_efficacy"] - 0.05)
    assert failures.did_nothing(rows(moved, inside, mia_only), MARGINS).tolist() == [False, False, False, True, False]


def test_each_run_is_paired_with_the_original_of_its_own_seed_and_forget_set():
    table = pd.DataFrame([run("original", seed=0, **ORIGINAL), run("original", seed=1, forget_acc=0.70, mia_efficacy=0.50),
                          run("m", seed=0, **ORIGINAL), run("m", seed=1, **ORIGINAL)])
    assert failures.did_nothing(table, MARGINS).tolist() == [False, False, True, False]
    with pytest.raises(KeyError, match="no original's forget_acc on their forget set"):
        failures.did_nothing(pd.DataFrame([run("original", seed=0, **ORIGINAL), run("m", seed=2)]), MARGINS)


def test_damage_and_doing_nothing_are_described_by_kind():
    table = failures.with_damage(pd.concat([rows(run("ssd", seed=0, **ORIGINAL)), rows(run("ssd", seed=1, test_acc=0.5)).assign(seed=1),
                                            rows(run("ssd", seed=2)).assign(seed=2)], ignore_index=True), MAJORITY, MARGINS)
    assert failures.failing_methods(table) == {"ssd": (2, 3)}
    assert failures.describe_failures(table) == "ssd (2 of 3: damaged 1, did nothing 1)"
    assert failures.describe_failures(table, prefix="ham10000: ").startswith("ham10000: ssd (2 of 3")
    # without margins only damage is checked, as before
    assert failures.with_damage(rows(run("copy", **ORIGINAL)), MAJORITY)["failed"].tolist() == [False, False, False]


def test_margins_come_from_the_noise_floor_table_with_their_reason():
    table = pd.DataFrame({"dataset": ["ham10000", "ham10000"], "metric": ["forget_acc", "mia_efficacy"], "margin": [0.025, 0.04],
                          "pairs": [40, 40], "statistic": ["95th percentile of |retrain - second retrain|"] * 2})
    assert floor_margins.margin(table, "ham10000", "forget_acc") == 0.025
    reason = floor_margins.reason(table, "ham10000", "forget_acc")
    assert reason == "forget_acc on ham10000: ±0.025, the 95th percentile of |retrain - second retrain| (40 pairs)"
    assert "handed in as a number" in floor_margins.reason(MARGINS, "ham10000", "forget_acc")
    assert failures.did_nothing(rows(run("copy", **ORIGINAL)), table).tolist() == [False, False, True]
    with pytest.raises(KeyError, match="no margin for 'test_acc' on 'ham10000'"):
        floor_margins.margin(table, "ham10000", "test_acc")
    with pytest.raises(ValueError, match="positive, finite"):
        floor_margins.margin({"ham10000": {"avg_gap": 0.0}}, "ham10000", "avg_gap")

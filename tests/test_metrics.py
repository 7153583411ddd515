"""Metric functions: group accuracies, cost and gap, membership-inference attacks, forgetting quality."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from unlearnlib.evaluation.attacks import logit_scaled_confidence, loss_attack, mia_efficacy, true_class_confidence
from unlearnlib.evaluation.fq import (
    EPSILON_CAP,
    accuracy_ratio,
    epsilon_score,
    forget_score,
    forgetting_quality,
    n_epsilon_bins,
    per_example_epsilon,
)
from unlearnlib.evaluation.metrics import average_gap, group_accuracies, run_time_efficiency

# ----------------------------------------------------------------------------- metrics.py


def test_group_accuracies_on_a_hand_made_example():
    labels = [0, 1, 1, 0, 1, 0, 1, 1]
    preds = [0, 1, 0, 0, 0, 1, 1, 0]
    groups = ["male", "male", "male", "female", "female", "female", None, float("nan")]
    out = group_accuracies(labels, preds, groups)
    # male: labels 0,1,1 / preds 0,1,0 -> acc 2/3; recalls: class 0 1/1, class 1 1/2 -> bacc 0.75
    # female: labels 0,1,0 / preds 0,0,1 -> acc 1/3; recalls: class 0 1/2, class 1 0/1 -> bacc 0.25
    # the last two samples have no group and are skipped
    assert set(out) == {"male_acc", "male_bacc", "female_acc", "female_bacc"}
    assert out["male_acc"] == pytest.approx(2 / 3)
    assert out["male_bacc"] == pytest.approx(0.75)
    assert out["female_acc"] == pytest.approx(1 / 3)
    assert out["female_bacc"] == pytest.approx(0.25)


def test_an_empty_group_gives_nan_not_an_error():
    out = group_accuracies([0, 1], [0, 1], ["male", "male"], values=("male", "female"))
    assert out["male_acc"] == 1.0 and out["male_bacc"] == 1.0
    assert math.isnan(out["female_acc"]) and math.isnan(out["female_bacc"])


def test_group_accuracies_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        group_accuracies([0, 1], [0, 1], ["male"])


def test_run_time_efficiency_and_average_gap_on_hand_computed_values():
    assert run_time_efficiency(100.0, 4.0) == pytest.approx(25.0)
    assert run_time_efficiency(3.0, 6.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="method_seconds"):
        run_time_efficiency(100.0, 0.0)
    with pytest.raises(ValueError, match="method_seconds"):
        run_time_efficiency(100.0, -1.0)

    method = {"retain_acc": 0.9, "forget_acc": 0.5, "test_acc": 0.7}
    retrain = {"retain_acc": 0.8, "forget_acc": 0.6, "test_acc": 0.7}
    # (|0.9-0.8| + |0.5-0.6| + |0.7-0.7|) / 3 = 0.2 / 3
    assert average_gap(method, retrain, ["retain_acc", "forget_acc", "test_acc"]) == pytest.approx(0.2 / 3)
    assert average_gap(method, retrain, ["forget_acc"]) == pytest.approx(0.1)
    with pytest.raises(KeyError, match="mia"):
        average_gap(method, retrain, ["mia"])
    with pytest.raises(ValueError, match="empty"):
        average_gap(method, retrain, [])


# ----------------------------------------------------------------------------- statistics


def test_true_class_confidence_is_the_softmax_of_the_true_class_and_stable():
    logits = np.array([[2.0, 1.0, 0.0], [1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    labels = np.array([0, 1, 2])
    expected = np.exp(2) / (np.exp(2) + np.exp(1) + 1)
    conf = true_class_confidence(logits, labels)
    assert conf[0] == pytest.approx(expected)
    assert conf[1] == 0.0 and np.isfinite(conf).all()
    assert conf[2] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="labels must lie in"):
        true_class_confidence(logits, np.array([0, 1, 3]))


def test_logit_scaled_confidence_is_the_margin_for_two_classes():
    logits = np.array([[3.0, 1.0], [-500.0, 500.0]])
    assert logit_scaled_confidence(logits, np.array([0, 0])) == pytest.approx([2.0, -1000.0])
    p = true_class_confidence(np.array([[1.0, 0.5, -2.0]]), np.array([1]))
    assert logit_scaled_confidence(np.array([[1.0, 0.5, -2.0]]), np.array([1])) == pytest.approx(np.log(p / (1 - p)))


# ----------------------------------------------------------------------------- simple attacks


def _logits_with_margin(margins: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two-class logits whose true-class logit exceeds the other by ``margins``."""
    labels = rng.integers(0, 2, size=len(margins))
    logits = np.zeros((len(margins), 2))
    logits[np.arange(len(margins)), labels] = margins
    return logits, labels


def test_mia_efficacy_is_high_when_forget_looks_like_test_and_low_when_it_looks_like_retain():
    rng = np.random.default_rng(0)
    retain = _logits_with_margin(rng.normal(8.0, 1.0, 400), rng)  # confidence ~ 1: members
    test = _logits_with_margin(rng.normal(0.0, 1.0, 300), rng)  # confidence ~ 0.5: non-members
    forgotten = _logits_with_margin(rng.normal(0.0, 1.0, 100), rng)
    memorized = _logits_with_margin(rng.normal(8.0, 1.0, 100), rng)
    assert mia_efficacy(*retain, *test, *forgotten, seed=0) > 0.8
    assert mia_efficacy(*retain, *test, *memorized, seed=0) < 0.2
    # same seed, same subsample, same answer
    assert mia_efficacy(*retain, *test, *forgotten, seed=3) == mia_efficacy(*retain, *test, *forgotten, seed=3)


def test_mia_efficacy_rejects_empty_sets_and_bad_shapes():
    rng = np.random.default_rng(0)
    a = _logits_with_margin(rng.normal(size=10), rng)
    empty = (np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="forget set is empty"):
        mia_efficacy(*a, *a, *empty)
    with pytest.raises(ValueError, match="test labels"):
        mia_efficacy(*a, a[0], a[1][:5], *a)


def test_loss_attack_is_chance_on_one_distribution_and_perfect_on_separated_losses():
    rng = np.random.default_rng(0)
    same = loss_attack(rng.exponential(1.0, 400), rng.exponential(1.0, 500), seed=0)
    assert abs(same - 0.5) < 0.1
    separated = loss_attack(rng.uniform(0, 1e-3, 300), 2.0 + rng.exponential(1.0, 300), seed=0)
    assert separated > 0.98
    with pytest.raises(ValueError, match="at least"):
        loss_attack(np.ones(3), np.ones(50))


def _train_memorizer(x: np.ndarray, y: np.ndarray, seed: int) -> nn.Module:
    """A small MLP trained full-batch until it fits random labels (well under a second)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: extra threads only fight over a busy CPU
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 128), nn.ReLU(), nn.Linear(128, 2))
    # weight decay keeps its logits on unseen points moderate, as a trained network's are
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    torch.set_num_threads(threads)
    return model.eval()


def test_attacks_tell_a_model_that_memorized_the_forget_set_from_one_that_never_saw_it():
    rng = np.random.default_rng(0)
    n_retain, n_forget, n_test, dim = 150, 100, 200, 50
    x = rng.normal(size=(n_retain + n_forget + n_test, dim))
    y = rng.integers(0, 2, size=len(x))  # random labels: only memorization can fit them
    retain, forget, test = np.split(np.arange(len(x)), [n_retain, n_retain + n_forget])
    memorized = _train_memorizer(x[np.r_[retain, forget]], y[np.r_[retain, forget]], seed=0)
    retrained = _train_memorizer(x[retain], y[retain], seed=0)

    def attack(model):
        with torch.no_grad():
            logits = model(torch.tensor(x, dtype=torch.float32)).numpy().astype(np.float64)
        assert (logits[retain].argmax(1) == y[retain]).mean() > 0.95  # it did memorize its training set
        losses = -np.log(true_class_confidence(logits, y) + 1e-12)
        mia = mia_efficacy(logits[retain], y[retain], logits[test], y[test], logits[forget], y[forget], seed=0)
        return mia, loss_attack(losses[forget], losses[test], seed=0)

    mia_memorized, loss_memorized = attack(memorized)
    mia_retrained, loss_retrained = attack(retrained)
    # forget samples the model was trained on look like retain samples: few called non-members
    assert mia_memorized < 0.1 and mia_retrained > 0.6
    # the starting kit's loss attack is weaker (a linear rule on raw losses) but still sees the difference
    assert loss_memorized > 0.65 and abs(loss_retrained - 0.5) < 0.1
    assert loss_memorized - loss_retrained > 0.1


# ----------------------------------------------------------------------------- forgetting quality


def test_identical_distributions_give_epsilon_zero_score_one_and_quality_equal_to_the_ratios():
    stats = np.random.default_rng(0).normal(size=(8, 20))
    eps = per_example_epsilon(stats, stats.copy())
    assert np.all(eps == 0.0)
    assert np.all(epsilon_score(eps, n_models=8) == 1.0)
    assert forget_score(stats, stats) == 1.0
    assert forgetting_quality(stats, stats, retain_acc_ratio=0.9, test_acc_ratio=0.8) == pytest.approx(0.72)


def test_hand_computed_epsilon_for_four_models():
    # One forget example, N = 4: retrained 0, 1, 2, 3 and unlearned 0.5, 1.5, 2.5, 3.5.
    # The unlearned median (2.0) is the larger, so "positive" = unlearned.
    # Single thresholds "positive iff s >= t" (FPR = retrained >= t, FNR = unlearned < t):
    #   t in (0.5, 1]: FPR 3/4, FNR 1/4 -> both terms < 0 -> 0
    #   t in (1, 1.5]: FPR 2/4, FNR 1/4 -> log(1 - d - 1/2) - log(1/4) = log(2 - 4d)  [other term log(1.5 - 2d)]
    #   t in (1.5, 2]: FPR 2/4, FNR 2/4 -> 0
    #   t in (2, 2.5]: FPR 1/4, FNR 2/4 -> log(1 - d - 1/2) - log(1/4) = log(2 - 4d) again
    #   t in (2.5, 3]: FPR 1/4, FNR 3/4 -> 0; elsewhere FPR or FNR is 0 -> discarded
    # Intervals "retrained iff l <= s <= r" (equal ranges, so the peakier one is retrained):
    # holding k consecutive retrained values always holds k - 1 unlearned ones
    # (FNR (4-k)/4, FPR (k-1)/4): k = 2, 3 give log(2 - 4d) too; k = 1, 4 have a zero rate.
    # So eps = log(2 - 4d): with d = 0.01, log(1.96) = 0.6729..., bin [0.5, 1) -> score 1/2.
    retrained = np.array([[0.0], [1.0], [2.0], [3.0]])
    unlearned = retrained + 0.5
    eps = per_example_epsilon(unlearned, retrained, delta=0.01)
    assert eps == pytest.approx([math.log(1.96)], abs=1e-12)
    assert epsilon_score(eps, n_models=4) == pytest.approx([0.5])
    # the default delta (1e-5, the reference's) gives log(2 - 4e-5); swapping the roles changes nothing
    assert per_example_epsilon(unlearned, retrained) == pytest.approx([math.log(2 - 4e-5)])
    assert per_example_epsilon(retrained, unlearned) == pytest.approx([math.log(2 - 4e-5)])


def test_perfect_separation_gets_the_cap_and_scores_zero_while_the_largest_finite_epsilon_gets_the_last_bin():
    rng = np.random.default_rng(0)
    eps = per_example_epsilon(rng.normal(0, 1, (8, 5)), rng.normal(10, 1, (8, 5)))
    assert np.all(eps == EPSILON_CAP)
    assert np.all(epsilon_score(eps, n_models=8) == 0.0)  # beyond the last bin, as in the reference
    # One unlearned value (10.5) among the retrained ones (10..17): the best attack errs once on each
    # side, FPR = FNR = 1/8, eps = log(1 - d - 1/8) - log(1/8) = log(7 - 8d) ~ 1.946, the largest
    # finite epsilon 8 models can show: the last of the 4 bins, [1.5, 2), scores 2 / 2**4 = 1/8.
    retrained = np.arange(10.0, 18.0)[:, None]
    unlearned = np.array([0, 1, 2, 3, 4, 5, 6, 10.5])[:, None]
    eps = per_example_epsilon(unlearned, retrained, delta=0.01)
    assert eps == pytest.approx([math.log(7 - 0.08)])
    assert n_epsilon_bins(8) == 4
    assert epsilon_score(eps, n_models=8) == pytest.approx([1 / 8])


def test_forget_score_averages_examples_and_quality_multiplies_the_uncapped_ratios():
    base = np.array([0.0, 1.0, 2.0, 3.0])
    # columns: identical (score 1), the hand-computed case (1/2), perfectly separated (0)
    unlearned = np.stack([base, base + 0.5, base], axis=1)
    retrained = np.stack([base, base, base + 10], axis=1)
    assert forget_score(unlearned, retrained) == pytest.approx(0.5)
    assert forgetting_quality(unlearned, retrained, retain_acc_ratio=0.9, test_acc_ratio=1.1) == pytest.approx(0.495)
    assert accuracy_ratio([0.8, 0.9], [0.85, 0.85]) == pytest.approx(1.0)


def test_epsilon_bins_follow_the_reference():
    assert [n_epsilon_bins(n) for n in (2, 3, 4, 8, 512)] == [0, 2, 4, 4, 14]
    scores = epsilon_score(np.array([0.0, 0.49, 0.5, 1.2, 1.5, 1.99, 2.0, EPSILON_CAP]), n_models=8)
    assert scores == pytest.approx([1, 1, 0.5, 0.25, 0.125, 0.125, 0, 0])


def test_invalid_forgetting_quality_inputs_raise():
    good = np.zeros((4, 3))
    with pytest.raises(ValueError, match="N >= 2"):
        per_example_epsilon(np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="same shape"):
        per_example_epsilon(good, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same shape"):
        per_example_epsilon(good, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-D"):
        per_example_epsilon(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        per_example_epsilon(np.full((4, 3), np.nan), good)
    with pytest.raises(ValueError, match="N >= 3"):
        forget_score(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        epsilon_score(np.array([-1.0]), n_models=8)
    with pytest.raises(ValueError, match="retain_acc_ratio"):
        forgetting_quality(good, good, retain_acc_ratio=-0.1, test_acc_ratio=1.0)


# ---------------------------------------------------------------- metrics declared once


def test_the_derived_metric_lists_keep_the_values_the_tables_were_made_with():
    from unlearnlib.report import plots
    from unlearnlib.evaluation import stats as report
    from unlearnlib.evaluation.metrics import GAP_METRICS, MAIN_METRICS, METRIC_LABELS, METRICS

    assert GAP_METRICS == ("retain_acc", "forget_acc", "test_acc", "mia_efficacy")
    assert report.MAIN_METRICS == MAIN_METRICS == (
        "retain_acc", "forget_acc", "test_acc", "mia_efficacy", "loss_attack", "avg_gap", "seconds", "rte")
    assert plots.METRIC_LABELS is METRIC_LABELS
    assert list(METRIC_LABELS) == [m.name for m in METRICS if m.listed] == [
        "retain_acc", "forget_acc", "val_acc", "test_acc", "mia_efficacy", "loss_attack", "avg_gap", "seconds", "rte"]
    assert METRIC_LABELS["avg_gap"] == "average gap to retrain" and METRIC_LABELS["rte"] == "run-time efficiency (x)"
    assert len({m.name for m in METRICS}) == len(METRICS)



# ---------------------------------------------------------------- metrics declared with their computation


class _Evaluated:
    """A split's per-sample evaluation as training.Evaluation gives it, from numbers chosen here."""

    def __init__(self, labels, logits):
        self.labels, self.logits = np.asarray(labels), np.asarray(logits, float)
        self.probs = np.exp(self.logits) / np.exp(self.logits).sum(1, keepdims=True)
        self.preds = self.logits.argmax(1)
        self.losses = -np.log(self.probs[np.arange(len(self.labels)), self.labels])


def _predictions(seed=0, sex=True):
    from unlearnlib.evaluation.metrics import Predictions

    rng = np.random.default_rng(seed)
    sizes = {"retain": 60, "forget": 24, "val": 30, "test": 40}
    splits = {name: _Evaluated(rng.integers(0, 3, n), rng.normal(size=(n, 3)) * 2) for name, n in sizes.items()}
    attributes = {"sex": {name: rng.choice(["male", "female"], n) for name, n in sizes.items()}} if sex else {}
    return Predictions(splits, attributes, seed=seed)


def test_evaluation_computes_every_declared_metric_in_declaration_order_from_the_predictions():
    from unlearnlib.evaluation.metrics import METRICS, compute_metrics

    p = _predictions()
    row = compute_metrics(p)
    assert list(row) == [m.name for m in METRICS if m.compute is not None]
    assert list(row)[:9] == ["retain_acc", "retain_bacc", "forget_acc", "forget_bacc", "val_acc", "val_bacc", "test_acc", "test_bacc",
                             "test_auc"]
    test = p.splits["test"]
    assert row["test_acc"] == float((test.labels == test.preds).mean())
    male = p.attributes["sex"]["test"] == "male"
    assert row["test_male_acc"] == float((test.labels[male] == test.preds[male]).mean())
    assert row["mia_efficacy"] == mia_efficacy(p.splits["retain"].logits, p.splits["retain"].labels, test.logits, test.labels,
                                               p.splits["forget"].logits, p.splits["forget"].labels, seed=0)
    assert row["loss_attack"] == loss_attack(p.splits["forget"].losses, test.losses, seed=0)
    assert row["test_classes_predicted"] == len(np.unique(test.preds))
    # A dataset that records no sex has no per-sex columns (not NaN ones), as before.
    assert not any("male" in name for name in compute_metrics(_predictions(sex=False)))


def test_a_new_metric_is_one_declaration_that_re_keys_nothing_and_recomputes_only_the_rows_that_hold_it(monkeypatch):
    """Registering a metric: every committed key stays; only the experiment rows it is declared
    for change code version (and are recomputed, with its column); every other row keeps its own."""
    import json

    import pandas as pd

    from unlearnlib.evaluation import metrics
    from unlearnlib.paths import project_root
    from unlearnlib.profiles import get_profile
    from unlearnlib.provenance import config_key
    from unlearnlib.execution.verify import from_plain

    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", get_profile("cpu").compute_path)  # the committed rows' path
    ledger = project_root() / "data" / "ledger"
    if not (ledger / "experiments.csv").exists():
        pytest.skip("no committed ledger")
    specs = {kind: [from_plain(json.loads(s)) for s in pd.read_csv(ledger / f"{kind}.csv")["spec"]]
             for kind in ("experiments", "tuning", "forgetting_quality")}
    specs["originals"] = sorted({s.original for s in specs["experiments"]}, key=config_key)

    def versions():
        return {kind: [(config_key(s), s.code_version()) for s in group] for kind, group in specs.items()}

    before, row_before = versions(), metrics.compute_metrics(_predictions())

    def brier(p):  # the test split's Brier score
        test = p.splits["test"]
        return float(((test.probs - np.eye(test.probs.shape[1])[test.labels]) ** 2).sum(1).mean())

    new = metrics.Metric("test_brier", "test Brier score", False, compute=brier, version="1", rows=lambda spec: spec.scenario == "sex")
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, new))
    after, row_after = versions(), metrics.compute_metrics(_predictions())

    # The column is there, and no other column changed.
    assert row_after == {**row_before, "test_brier": brier(_predictions())}
    # No key changed; nothing but the sex experiments changed code version.
    assert {k: [key for key, _ in v] for k, v in after.items()} == {k: [key for key, _ in v] for k, v in before.items()}
    for kind in ("originals", "tuning", "forgetting_quality"):
        assert after[kind] == before[kind], kind
    changed = [s for s, (_, old), (_, now) in zip(specs["experiments"], before["experiments"], after["experiments"]) if old != now]
    assert changed and {s.scenario for s in changed} == {"sex"}
    assert len(changed) == sum(s.scenario == "sex" for s in specs["experiments"]) < len(specs["experiments"])
    assert all(now == old.replace("p2-", "p2+test_brier1-", 1)
               for (_, old), (_, now) in zip(before["experiments"], after["experiments"]) if old != now)
    # A versioned metric may not enter the average gap: that changes a column of every committed row.
    with pytest.raises(ValueError, match="bump specs.PIPELINE_VERSION"):
        metrics.check_declarations((*metrics.METRICS, metrics.Metric("x", "x", True, in_gap=True, version="1")))
    with pytest.raises(ValueError, match="unique"):
        metrics.check_declarations((*metrics.METRICS, metrics.METRICS[0]))

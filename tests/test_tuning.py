"""Hyper-parameter search: its objectives, diverging trials, the seeded sampler, and tuning rows in the ledger."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch import nn

import unlearnlib.kinds.tuning as tuning
from unlearnlib.algorithms import DivergedError, UnlearningTask, UnlearnResult, get_method
from unlearnlib.evaluation.metrics import balanced_accuracy
from unlearnlib.profiles import PROFILES, Profile
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import TUNING_SEED, ExperimentSpec, OriginalSpec, TuningSpec, tuning_spec
from unlearnlib.results.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig, evaluate, fit

RECIPE = TrainConfig(epochs=40, batch_size=64, lr=0.1, flips=False, schedule="constant", warmup_epochs=0)
PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))


def _linear(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


@pytest.fixture(scope="module")
def task() -> UnlearningTask:
    """A linear model on 8 x 8 noise: it can only fit the forget set (random labels) by memorizing it."""
    rng = np.random.default_rng(0)

    def tensors(n):
        return Tensors(torch.from_numpy(rng.normal(size=(n, 1, 8, 8)).astype(np.float32)), torch.from_numpy(rng.integers(0, 3, n)))

    retain, forget, val = tensors(200), tensors(30), tensors(120)
    original = _linear(0)
    fit(original, Tensors(torch.cat([retain.x, forget.x]), torch.cat([retain.y, forget.y])), RECIPE, seed=0, progress=False)
    return UnlearningTask(original, retain, forget, val, RECIPE, _linear, num_classes=3)


@pytest.fixture(scope="module")
def retrained(task) -> nn.Module:
    model = _linear(1)
    fit(model, task.retain, RECIPE, seed=1, progress=False)
    return model


def test_the_retrain_objective_is_zero_for_the_retrained_model_and_positive_for_the_original(task, retrained):
    scores = {name: tuning.validation_scores(model, task, seed=0) for name, model in (("original", task.original), ("retrained", retrained))}
    assert scores["original"]["forget_acc"] > scores["retrained"]["forget_acc"] + 0.2  # the original memorized the forget set
    value = {name: tuning.gap("retrain", s, retrained=scores["retrained"], original=scores["original"]) for name, s in scores.items()}
    assert value["retrained"] == 0 and value["original"] > 0.05
    with pytest.raises(ValueError, match="needs the retrained model"):
        tuning.gap("retrain", scores["original"], retrained=None, original=scores["original"])


def test_the_retrain_free_objective_penalises_a_forget_set_that_looks_unlike_held_out_data(task, retrained):
    original = tuning.validation_scores(task.original, task, seed=0)
    unseen = tuning.validation_scores(retrained, task, seed=0)
    # The original tells its forget set from held-out data; the retrained model never saw either.
    assert (tuning.gap("retrain_free", original, retrained=None, original=original)
            > tuning.gap("retrain_free", unseen, retrained=None, original=original))
    with pytest.raises(ValueError, match="unknown objective 'fast'"):
        tuning.gap("fast", original, retrained=None, original=original)


# ----------------------------------------------------------------------------- damage is never a credit

# Validation scores of the kind HAM10000 gives (7 classes, majority-class rate 0.67): a weak original,
# its retrain, a trial that forgets a little, and one that collapsed to the largest class.
MAJORITY = 0.67
RETRAINED = {"retain_acc": 0.80, "forget_acc": 0.70, "val_acc": 0.72, "val_bacc": 0.55, "heldout_acc": 0.72, "mia_forget": 0.30, "mia_heldout": 0.30}
ORIGINAL = {"retain_acc": 0.95, "forget_acc": 0.95, "val_acc": 0.74, "val_bacc": 0.56, "heldout_acc": 0.74, "mia_forget": 0.90, "mia_heldout": 0.50}
GOOD = {"retain_acc": 0.85, "forget_acc": 0.80, "val_acc": 0.73, "val_bacc": 0.55, "heldout_acc": 0.73, "mia_forget": 0.50, "mia_heldout": 0.40}
COLLAPSED = {"retain_acc": 0.70, "forget_acc": 0.69, "val_acc": 0.67, "val_bacc": 1 / 7, "heldout_acc": 0.67, "mia_forget": 0.30, "mia_heldout": 0.30}


@pytest.mark.parametrize("objective", tuning.OBJECTIVES)
def test_a_collapsed_model_ranks_below_the_original_though_its_gap_is_smaller(objective):
    def gap(scores):
        return tuning.gap(objective, scores, retrained=RETRAINED, original=ORIGINAL)

    def value(scores):
        return tuning.objective_value(objective, scores, retrained=RETRAINED, original=ORIGINAL, majority_rate=MAJORITY)

    assert gap(COLLAPSED) < gap(GOOD) < gap(ORIGINAL)  # on the gap alone, the collapsed model would win
    assert value(GOOD) == gap(GOOD) and value(ORIGINAL) == gap(ORIGINAL)  # models that do not fail keep their gap
    assert value(COLLAPSED) == pytest.approx(gap(ORIGINAL) + tuning.FAILED_PENALTY)
    assert value(GOOD) < value(ORIGINAL) < value(COLLAPSED) < tuning.DIVERGED_VALUE
    status = tuning.assess(objective, COLLAPSED, retrained=RETRAINED, original=ORIGINAL, majority_rate=MAJORITY)[1]
    assert status == "failed: validation accuracy 0.670 is at most 0.01 above the majority-class rate 0.670"


def test_a_failing_value_is_above_every_gap_and_below_divergence():
    # The largest gap either objective can reach, on scores at the extremes ...
    extreme = {"retain_acc": 0.0, "forget_acc": 1.0, "val_acc": 0.0, "heldout_acc": 0.0, "mia_forget": 1.0, "mia_heldout": 0.0}
    opposite = {"retain_acc": 1.0, "forget_acc": 0.0, "val_acc": 1.0, "heldout_acc": 1.0, "mia_forget": 0.0, "mia_heldout": 1.0}
    assert tuning.gap("retrain_free", extreme, retrained=None, original=opposite) == tuning.OBJECTIVE_BOUND
    assert tuning.gap("retrain", extreme, retrained=opposite, original=opposite) == 1.0
    # ... is below the value of a failing trial even where the original's gap is 0.
    perfect = {**RETRAINED, "forget_acc": RETRAINED["heldout_acc"]}  # its forget set looks like held-out data
    for objective in tuning.OBJECTIVES:
        assert tuning.gap(objective, perfect, retrained=perfect, original=perfect) == 0
        failing = tuning.objective_value(objective, COLLAPSED, retrained=perfect, original=perfect, majority_rate=MAJORITY)
        assert tuning.OBJECTIVE_BOUND < failing < tuning.DIVERGED_VALUE
    assert tuning.OBJECTIVE_BOUND + tuning.FAILED_PENALTY < tuning.DIVERGED_VALUE  # the largest failing value


def test_the_balanced_accuracy_floor_uses_the_retrain_or_without_one_the_original():
    # Plain accuracy well above the majority-class rate, balanced accuracy 0.45: within 0.1 of the
    # retrain's 0.50, more than 0.1 below the original's 0.60.
    trial = {**GOOD, "val_bacc": 0.45}
    retrained, original = {**RETRAINED, "val_bacc": 0.50}, {**ORIGINAL, "val_bacc": 0.60}
    assert tuning.assess("retrain", trial, retrained=retrained, original=original, majority_rate=MAJORITY)[1] == "ok"
    value, status = tuning.assess("retrain_free", trial, retrained=None, original=original, majority_rate=MAJORITY)
    assert status == "failed: validation balanced accuracy 0.450 is more than 0.1 below the reference's 0.600"
    assert value > tuning.gap("retrain_free", original, retrained=None, original=original)
    with pytest.raises(ValueError, match=r"majority_rate must lie in \(0, 1\]; got 1.5"):
        tuning.assess("retrain", trial, retrained=retrained, original=original, majority_rate=1.5)


def test_validation_scores_carry_the_balanced_accuracy_and_a_constant_model_fails_the_majority_floor(task):
    scores = tuning.validation_scores(task.original, task, seed=0)
    assert scores["val_bacc"] == pytest.approx(balanced_accuracy(task.val.y.numpy(), evaluate(task.original, task.val).preds))
    largest = int(np.bincount(task.val.y.numpy()).argmax())
    rate = tuning.majority_class_rate(task.val.y.numpy())
    assert rate == pytest.approx(np.mean(task.val.y.numpy() == largest))

    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(nn.functional.one_hot(torch.tensor(largest), 3).float())  # evaluate() reads its device

        def forward(self, x):
            return self.bias.expand(len(x), 3)

    collapsed = tuning.validation_scores(Constant(), task, seed=0)
    assert collapsed["val_acc"] == pytest.approx(rate) and collapsed["val_bacc"] == pytest.approx(1 / 3)
    assert tuning.failed_floor(collapsed, reference_bacc=scores["val_bacc"], majority_rate=rate).startswith("validation accuracy")
    assert tuning.majority_class_rate([2, 2, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="no labels"):
        tuning.majority_class_rate([])


def test_a_failing_trial_never_becomes_best_when_one_that_does_not_fail_exists(monkeypatch):
    """tune() on scripted scores: every other trial collapses, with a smaller gap than the others."""
    models = {name: nn.Identity() for name in ("original", "retrained", "good", "collapsed")}
    scores = {id(models[n]): s for n, s in (("original", ORIGINAL), ("retrained", RETRAINED), ("good", GOOD), ("collapsed", COLLAPSED))}
    calls = itertools.count()

    def scripted_unlearn(name, task, hyperparameters, *, seed, progress=False):
        return UnlearnResult(models["collapsed" if next(calls) % 2 else "good"], 0.0, name, hyperparameters)

    monkeypatch.setattr(tuning, "unlearn", scripted_unlearn)
    monkeypatch.setattr(tuning, "validation_scores", lambda model, task, *, seed: scores[id(model)])
    labels = torch.tensor([0] * 67 + [1] * 20 + [2] * 13)  # majority-class rate 0.67
    val = Tensors(torch.zeros(len(labels), 1, 8, 8), labels)
    scripted = UnlearningTask(models["original"], val, val, val, RECIPE, _linear, num_classes=3)
    result = tuning.tune("gradient_ascent", scripted, objective="retrain", n_trials=6, seed=0, retrained=models["retrained"])
    ok = [t for t in result.trials if t["status"] == "ok"]
    failed = [t for t in result.trials if t["status"].startswith("failed: validation accuracy 0.670")]
    assert len(ok) == len(failed) == 3
    assert max(t["gap"] for t in failed) < min(t["gap"] for t in ok)  # by the gap alone a collapsed trial would be best
    assert result.best_value == pytest.approx(tuning.gap("retrain", GOOD, retrained=RETRAINED, original=ORIGINAL))
    assert result.best_params in [t["params"] for t in ok] and result.best_value < result.original_value
    assert all(t["value"] == pytest.approx(result.original_value + tuning.FAILED_PENALTY) for t in failed)


def _no_unlearning(name, task, hyperparameters, *, seed, progress=False):
    return UnlearnResult(task.original, 0.0, name, hyperparameters)


def test_a_diverging_trial_gets_the_worst_value_and_says_why(task, monkeypatch):
    def diverge(name, *args, **kwargs):
        raise DivergedError("loss is nan at step 3", method=name)

    monkeypatch.setattr(tuning, "unlearn", diverge)
    result = tuning.tune("gradient_ascent", task, objective="retrain_free", n_trials=2, seed=0)
    assert [t["value"] for t in result.trials] == [tuning.DIVERGED_VALUE] * 2 and result.best_value == tuning.DIVERGED_VALUE
    assert all(t["status"] == "diverged: gradient_ascent diverged: loss is nan at step 3" for t in result.trials)


def test_the_sampler_is_seeded_same_seed_same_trials(task, monkeypatch):
    monkeypatch.setattr(tuning, "unlearn", _no_unlearning)  # the sampler's draws, not the training, are under test

    def params(seed):
        return [t["params"] for t in tuning.tune("gradient_ascent", task, objective="retrain_free", n_trials=3, seed=seed).trials]

    first = params(0)
    assert params(0) == first and params(1) != first
    space = get_method("gradient_ascent").hyperparameters.search_space
    for drawn in first:
        assert space["lr"][1] <= drawn["lr"] <= space["lr"][2] and space["epochs"][1] <= drawn["epochs"] <= space["epochs"][2]


def test_a_setting_scored_outside_the_search_scores_as_its_trial_did(task, retrained):
    """TrialScorer (used by benchmarks/warm_start.py to score a neighbour's optimum) is the trial's own scoring."""
    result = tuning.tune("gradient_ascent", task, objective="retrain", n_trials=3, seed=0, retrained=retrained)
    score = tuning.TrialScorer.build("gradient_ascent", task, objective="retrain", seed=0, retrained=retrained)
    assert score.original_value == pytest.approx(result.original_value)
    for trial in result.trials:
        value, raw, status = score(trial["params"])
        assert (value, status) == (pytest.approx(trial["value"]), trial["status"])


def test_tune_refuses_what_it_cannot_search(task):
    with pytest.raises(ValueError, match="n_trials must be at least 1; got 0"):
        tuning.tune("finetune", task, objective="retrain_free", n_trials=0, seed=0)
    with pytest.raises(ValueError, match="unknown objective 'fast'"):
        tuning.tune("finetune", task, objective="fast", n_trials=1, seed=0)
    with pytest.raises(ValueError, match="retrain declares no search space"):
        tuning.tune("retrain", task, objective="retrain_free", n_trials=1, seed=0)


def test_tuning_runs_on_a_seed_and_forget_set_no_evaluation_uses():
    for profile in PROFILES.values():
        spec = tuning_spec(profile, "ham10000", "salun")
        assert spec.experiment.seed == TUNING_SEED and TUNING_SEED not in (*profile.seeds, *profile.curve_seeds)
        assert spec.n_trials == profile.tuning_trials and spec.objective == "retrain"
    # The tuning sees only what an unlearning task carries: retain, forget and validation data.
    assert {"retain", "forget", "val"} <= set(UnlearningTask.__dataclass_fields__) and "test" not in UnlearningTask.__dataclass_fields__


def test_tuned_hyperparameters_read_the_best_parameters_back():
    assert tuning.tuned_hyperparameters({"best_params": json.dumps({"epochs": 3, "lr": 0.01})}) == {"epochs": 3, "lr": 0.01}


# ----------------------------------------------------------------------------- tuning rows


def _spec(method, **hp):
    return ExperimentSpec.build(OriginalSpec.from_profile(PROFILE, "synthetic", 0), "random", method, hyperparameters=hp, fraction=0.1)


def _stores(tmp_path):
    return {"models": ModelStore(tmp_path / "models"), "results": ResultStore(tmp_path / "ledger")}


@pytest.mark.slow
def test_tuning_records_every_trial_and_its_cost(tmp_path):
    for objective in ("retrain", "retrain_free"):
        spec = TuningSpec(_spec("gradient_ascent"), objective, n_trials=3)
        record = tuning.run_tuning(spec, **_stores(tmp_path))
        trials = json.loads(record["trials"])
        assert len(trials) == 3 and all(t["seconds"] > 0 for t in trials)
        assert record["best_value"] == min(t["value"] for t in trials)
        assert record["failed_trials"] == sum(t["status"].startswith("failed: ") for t in trials)
        assert record["diverged_trials"] == sum(t["status"].startswith("diverged: ") for t in trials)
        assert record["cost_in_retrains"] == pytest.approx(sum(t["seconds"] for t in trials) / record["retrain_seconds"])
        assert set(json.loads(record["best_params"])) == {"lr", "epochs"}
        assert tuning.run_tuning(spec, **_stores(tmp_path)) == record  # cached
    # Same seed, same search: Optuna's sampler is seeded.
    again = tuning.run_tuning(TuningSpec(_spec("gradient_ascent"), "retrain", n_trials=3), models=ModelStore(tmp_path / "models"),
                              results=ResultStore(tmp_path / "other"))
    assert [t["params"] for t in json.loads(again["trials"])] == [t["params"] for t in json.loads(
        tuning.run_tuning(TuningSpec(_spec("gradient_ascent"), "retrain", n_trials=3), **_stores(tmp_path))["trials"])]


def test_tuning_rejects_methods_without_a_search_space_and_unknown_objectives(tmp_path):
    with pytest.raises(ValueError, match="retrain declares no search space"):
        tuning.run_tuning(TuningSpec(_spec("retrain"), "retrain", n_trials=2), **_stores(tmp_path))
    with pytest.raises(ValueError, match="unknown objective 'fast'"):
        tuning.run_tuning(TuningSpec(_spec("finetune"), "fast", n_trials=2), **_stores(tmp_path))

"""Hyper-parameter search: its objectives, diverging trials, the seeded sampler, and tuning rows in the ledger."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import unlearnlib.tuning as tuning
from unlearnlib.algorithms import DivergedError, UnlearningTask, UnlearnResult, get_method
from unlearnlib.profiles import PROFILES, Profile
from unlearnlib.runner import ResultStore
from unlearnlib.specs import TUNING_SEED, ExperimentSpec, OriginalSpec, TuningSpec, tuning_spec
from unlearnlib.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig, fit

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
    value = {name: tuning.objective_value("retrain", s, retrained=scores["retrained"], original=scores["original"]) for name, s in scores.items()}
    assert value["retrained"] == 0 and value["original"] > 0.05
    with pytest.raises(ValueError, match="needs the retrained model"):
        tuning.objective_value("retrain", scores["original"], retrained=None, original=scores["original"])


def test_the_retrain_free_objective_penalises_a_forget_set_that_looks_unlike_held_out_data(task, retrained):
    original = tuning.validation_scores(task.original, task, seed=0)
    unseen = tuning.validation_scores(retrained, task, seed=0)
    # The original tells its forget set from held-out data; the retrained model never saw either.
    assert (tuning.objective_value("retrain_free", original, retrained=None, original=original)
            > tuning.objective_value("retrain_free", unseen, retrained=None, original=original))
    with pytest.raises(ValueError, match="unknown objective 'fast'"):
        tuning.objective_value("fast", original, retrained=None, original=original)


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

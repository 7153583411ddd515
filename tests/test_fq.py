"""The vectorized challenge epsilons, the relative forgetting quality with its half-sample interval,
and the forgetting-quality rows in the ledger (the score itself is tested in test_metrics.py)."""
from __future__ import annotations

import numpy as np
import pytest

from unlearnlib.evaluation.fq import forget_score, per_example_epsilon
from unlearnlib.evaluation.fq_interval import per_example_epsilon_fast, relative_forgetting_quality
from unlearnlib.kinds.fq_run import run_forgetting_quality
from unlearnlib.profiles import Profile
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import ExperimentSpec, ForgettingQualitySpec, OriginalSpec
from unlearnlib.results.store import ModelStore
from unlearnlib.training import TrainConfig


def _draw(rng, n_models, n_examples, shift=0.0, sd=1.0, centers=None):
    centers = rng.normal(0, 3, n_examples) if centers is None else centers
    return centers + shift + rng.normal(0, sd, (n_models, n_examples))


@pytest.mark.parametrize("case", ["continuous", "ties", "resampled", "identical_rows", "same_values", "wide"])
def test_fast_epsilons_equal_the_reference_loop(case):
    rng = np.random.default_rng(hash(case) % 2**32)
    for n in (3, 4, 8, 16):
        centers = rng.normal(0, 3, 8)
        unlearned = _draw(rng, n, 8, shift=rng.normal(0, 1), sd=rng.uniform(0.05, 2), centers=centers)
        retrained = _draw(rng, n, 8, centers=centers)
        if case == "ties":
            unlearned, retrained = np.round(unlearned, 1), np.round(retrained, 1)
        elif case == "resampled":  # bootstrap draws repeat models
            unlearned, retrained = unlearned[rng.integers(0, n, n)], retrained[rng.integers(0, n, n)]
        elif case == "identical_rows":
            unlearned = np.repeat(unlearned[:1], n, axis=0)
        elif case == "same_values":
            retrained = unlearned.copy()
        elif case == "wide":
            retrained = retrained * 5
        for delta in (1e-5, 0.01):
            expected = per_example_epsilon(unlearned, retrained, delta=delta)
            got = per_example_epsilon_fast(unlearned, retrained, delta=delta, chunk=3)
            np.testing.assert_array_equal(got, expected)


def test_identical_distributions_score_about_one_relative_to_retrain():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, 60)
    unlearned, retrained, reference = (_draw(rng, 16, 60, centers=centers) for _ in range(3))
    result = relative_forgetting_quality(unlearned, retrained, reference, n_boot=40, seed=0)
    assert result.score == pytest.approx(forget_score(unlearned, retrained))
    assert result.ceiling == pytest.approx(forget_score(reference, retrained))
    assert 0.7 < result.relative_to_retrain < 1.3
    assert result.ci_low < 1 < result.ci_high
    assert result.ci_low <= result.relative_to_retrain <= result.ci_high
    assert not result.identical_models and result.note == ""


def test_a_shifted_distribution_scores_well_below_retrain():
    rng = np.random.default_rng(1)
    centers = rng.normal(0, 3, 60)
    retrained, reference = (_draw(rng, 16, 60, centers=centers) for _ in range(2))
    unlearned = _draw(rng, 16, 60, shift=1.5, centers=centers)
    result = relative_forgetting_quality(unlearned, retrained, reference, n_boot=40, seed=0)
    assert result.relative_to_retrain < 0.5
    assert result.ci_high < 0.8  # the interval rules out "as good as retraining"
    # a with-replacement bootstrap put this estimate below its own interval (repeated models
    # are easier to separate); the half-sample interval is centred on it
    assert result.ci_low < result.relative_to_retrain < result.ci_high
    assert result.ci_high - result.relative_to_retrain == pytest.approx(result.relative_to_retrain - result.ci_low)


def test_the_interval_is_deterministic_under_its_seed():
    rng = np.random.default_rng(2)
    centers = rng.normal(0, 3, 20)
    sets = [_draw(rng, 8, 20, shift=s, centers=centers) for s in (0.5, 0, 0)]
    first = relative_forgetting_quality(*sets, n_boot=30, seed=7)
    assert relative_forgetting_quality(*sets, n_boot=30, seed=7) == first
    other = relative_forgetting_quality(*sets, n_boot=30, seed=8)
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)
    assert other.relative_to_retrain == first.relative_to_retrain  # the point estimate has no randomness


def test_identical_models_score_zero_with_a_zero_interval_and_a_note():
    rng = np.random.default_rng(3)
    centers = rng.normal(0, 3, 20)
    retrained, reference = (_draw(rng, 8, 20, centers=centers) for _ in range(2))
    # a deterministic method sitting exactly at the retrained models' mean, still a point mass
    unlearned = np.repeat(retrained.mean(axis=0, keepdims=True), 8, axis=0)
    result = relative_forgetting_quality(unlearned, retrained, reference, n_boot=20, seed=0)
    assert result.identical_models
    assert result.score == 0.0 and result.ceiling > 0
    assert (result.relative_to_retrain, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0)
    assert "deterministic" in result.note


def test_a_zero_ceiling_gives_nan_and_says_why():
    rng = np.random.default_rng(4)
    retrained = _draw(rng, 8, 10)
    reference = retrained + 100.0  # independent retrains perfectly separable: ceiling 0
    result = relative_forgetting_quality(_draw(rng, 8, 10), retrained, reference, n_boot=10, seed=0)
    assert result.ceiling == 0.0
    assert np.isnan(result.relative_to_retrain) and np.isnan(result.ci_low) and np.isnan(result.ci_high)
    assert "ceiling" in result.note and "10 of 10" in result.note


def test_accuracies_turn_both_scores_into_forgetting_quality():
    rng = np.random.default_rng(5)
    centers = rng.normal(0, 3, 20)
    retrained, reference = (_draw(rng, 8, 20, centers=centers) for _ in range(2))
    ones = (np.ones(8), np.ones(8))
    plain = relative_forgetting_quality(reference.copy(), retrained, reference, n_boot=5)
    worse = relative_forgetting_quality(reference.copy(), retrained, reference, n_boot=5,
                                        unlearned_accs=(np.full(8, 0.9), np.full(8, 0.8)),
                                        retrained_accs=ones, reference_accs=ones)
    assert plain.relative_to_retrain == pytest.approx(1.0)
    assert worse.relative_to_retrain == pytest.approx(0.72)
    assert worse.score == pytest.approx(0.72 * plain.score)


def test_invalid_inputs_raise_naming_the_value():
    good = np.zeros((4, 3)) + np.arange(4)[:, None]
    with pytest.raises(ValueError, match="same shape"):
        relative_forgetting_quality(good, good, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="N >= 4"):
        relative_forgetting_quality(good[:3], good[:3], good[:3])
    with pytest.raises(ValueError, match="n_boot"):
        relative_forgetting_quality(good, good, good, n_boot=0)
    with pytest.raises(ValueError, match="all three"):
        relative_forgetting_quality(good, good, good, unlearned_accs=(np.ones(4), np.ones(4)))
    with pytest.raises(ValueError, match="one retain and one test accuracy per model"):
        relative_forgetting_quality(good, good, good, unlearned_accs=(np.ones(3), np.ones(4)),
                                    retrained_accs=(np.ones(4), np.ones(4)), reference_accs=(np.ones(4), np.ones(4)))
    with pytest.raises(ValueError, match="chunk"):
        per_example_epsilon_fast(good, good, chunk=0)


# ----------------------------------------------------------------------------- forgetting-quality rows

PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))


def _spec(method, **hp):
    return ExperimentSpec.build(OriginalSpec.from_profile(PROFILE, "synthetic", 0), "random", method, hyperparameters=hp, fraction=0.1)


def test_too_few_models_are_refused_before_any_training(tmp_path):
    with pytest.raises(ValueError, match="at least 4 models per side.*got 2"):
        run_forgetting_quality(ForgettingQualitySpec(_spec("ssd"), n_models=2), results=ResultStore(tmp_path / "ledger"))
    assert not (tmp_path / "ledger").exists()


@pytest.mark.slow
def test_forgetting_quality_scores_independent_retrains_above_a_noisy_method(tmp_path):
    stores = {"models": ModelStore(tmp_path / "models"), "results": ResultStore(tmp_path / "ledger")}
    noisy = run_forgetting_quality(ForgettingQualitySpec(_spec("fisher", alpha=1e-2), n_models=4), **stores)
    floor = run_forgetting_quality(ForgettingQualitySpec(_spec("retrain"), n_models=4), **stores)
    for record in (noisy, floor):
        assert 0 <= record["forget_score"] <= 1
        assert record["forgetting_quality"] == pytest.approx(record["forget_score"] * record["retain_acc_ratio"] * record["test_acc_ratio"])
        assert record["ci_low"] <= record["relative_to_retrain"] <= record["ci_high"] and record["n_models"] == 4
        assert record["retrain_seconds"] > 0  # the 2N retrains' time: the second row reads it from the model cache
    assert floor["retrain_seconds"] == pytest.approx(noisy["retrain_seconds"])
    # Independent retrains are the best any method can do: heavy noise scores no better.
    assert floor["forget_score"] >= noisy["forget_score"]
    # Retrain's own row compares the independent set with the reference: exactly the ceiling.
    assert floor["relative_to_retrain"] == pytest.approx(1.0)

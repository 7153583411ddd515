"""Feldman & Zhang memorization: the per-sample arithmetic, the balanced design, and a toy behaviour check."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unlearnlib.data import make_synthetic
from unlearnlib.evaluation.memorization import (
    balanced_membership,
    memorization_from_predictions,
    memorization_scores,
    model_seed,
)
from unlearnlib.models import create_model
from unlearnlib.training import Tensors, TrainConfig


def test_memorization_is_mean_correct_in_minus_mean_correct_out_per_sample():
    # Feldman & Zhang's estimate, by hand: 4 models, 3 samples.
    membership = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
    correct = np.array([[1, 1, 1], [0, 1, 0], [1, 0, 0], [1, 0, 1]], dtype=bool)
    mem, mem_prob, n_in, n_out = memorization_from_predictions(membership, correct)
    # sample 0: in models 0, 2 (correct 1, 1), out 1, 3 (0, 1): 1 - 0.5
    # sample 1: in models 1, 2 (1, 0), out 0, 3 (1, 0): 0.5 - 0.5
    # sample 2: in models 0, 1 (1, 0), out 2, 3 (0, 1): 0.5 - 0.5
    np.testing.assert_allclose(mem, [0.5, 0.0, 0.0])
    np.testing.assert_array_equal(n_in, [2, 2, 2])
    np.testing.assert_array_equal(n_out, [2, 2, 2])
    assert np.isnan(mem_prob).all()  # no probabilities given
    correct[3, 2] = False  # sample 2 now wrong in both models that left it out
    assert memorization_from_predictions(membership, correct)[0][2] == 0.5


def test_memorization_prob_is_the_same_gap_in_the_true_class_probability():
    membership = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
    probs = np.array([[0.9, 0.2, 0.5], [0.1, 0.6, 0.7], [0.8, 0.4, 0.2], [0.3, 0.2, 0.4]])
    correct = probs > 0.45
    mem, mem_prob, _, _ = memorization_from_predictions(membership, correct, probs)
    # sample 0: in (0.9, 0.8), out (0.1, 0.3); sample 1: in (0.6, 0.4), out (0.2, 0.2); sample 2: in (0.5, 0.7), out (0.2, 0.4)
    np.testing.assert_allclose(mem_prob, [0.85 - 0.2, 0.5 - 0.2, 0.6 - 0.3])
    np.testing.assert_allclose(mem, [1.0, 0.5, 1.0])  # the default stays the accuracy-based one


def test_invalid_predictions_raise_naming_the_problem():
    membership = np.array([[1, 0], [1, 1]], dtype=bool)  # sample 0 is never out
    right = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match=r"samples \[0\]"):
        memorization_from_predictions(membership, right)
    with pytest.raises(ValueError, match="membership must be a boolean"):
        memorization_from_predictions(membership.astype(int), right)
    with pytest.raises(ValueError, match="correct must be a boolean"):
        memorization_from_predictions(membership, right.astype(float))
    with pytest.raises(ValueError, match="probabilities"):
        memorization_from_predictions(np.array([[1, 0], [0, 1]], dtype=bool), right, np.full((2, 2), 1.5))
    with pytest.raises(ValueError, match="one shape"):
        memorization_from_predictions(membership, np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="true_prob must have the shape"):
        memorization_from_predictions(membership, right, np.full((2, 3), 0.5))


def test_balanced_membership_puts_every_sample_in_exactly_half_the_models():
    membership = balanced_membership(101, 8, seed=3)
    assert membership.shape == (8, 101)
    np.testing.assert_array_equal(membership.sum(axis=0), 4)
    assert set(membership.sum(axis=1)) == {50, 51}  # every model sees half the data
    np.testing.assert_array_equal(membership[0::2], ~membership[1::2])  # complementary pairs
    assert len({m.tobytes() for m in membership[0::2]}) == 4  # the pairs' splits differ
    np.testing.assert_array_equal(balanced_membership(101, 8, seed=3), membership)
    assert not np.array_equal(balanced_membership(101, 8, seed=4), membership)


@pytest.mark.parametrize("n_models", [0, 1, 3, 7])
def test_odd_or_too_few_models_are_refused(n_models):
    with pytest.raises(ValueError, match=f"got {n_models}"):
        balanced_membership(10, n_models, seed=0)


def test_model_seeds_depend_only_on_seed_and_index_and_stay_apart():
    seeds = [model_seed(0, k) for k in range(8)] + [model_seed(1, k) for k in range(8)]
    assert len(set(seeds)) == 16
    assert model_seed(0, 3) == seeds[3]
    assert not set(seeds) & set(range(100_000))  # not the small seeds originals and retrains use


class _Linear(nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(16 * 16, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_memorization_scores_is_deterministic_under_its_seed():
    ds = make_synthetic(n_samples=40, num_classes=3, image_size=16, in_chans=1, seed=1)
    data = Tensors.from_arrays(ds.images, ds.labels)
    recipe = TrainConfig(epochs=2, batch_size=8, lr=0.05, flips=False)
    first, second = (memorization_scores(data, make_model=_Linear, recipe=recipe, n_models=4, seed=5) for _ in range(2))
    np.testing.assert_array_equal(first.memorization, second.memorization)
    assert first.model_seeds == tuple(model_seed(5, k) for k in range(4))
    np.testing.assert_array_equal(first.n_in, 2)
    assert list(first.frame().columns) == ["memorization", "memorization_prob", "n_in", "n_out"]
    # n models: n/2 in and n/2 out per sample, so the accuracy-based score moves in steps of 2/n
    np.testing.assert_allclose(first.memorization * 2, np.round(first.memorization * 2))
    with pytest.raises(ValueError, match="even"):
        memorization_scores(data, make_model=_Linear, recipe=recipe, n_models=3, seed=5)


@pytest.fixture
def one_thread():
    # 8 small trainings: one thread is several times faster than two on a shared, loaded CPU
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_mislabeled_samples_score_high_and_duplicated_ones_lower(one_thread):
    ds = make_synthetic(n_samples=150, num_classes=3, image_size=16, in_chans=1, noise=40, seed=0)
    images, labels = ds.images.copy(), ds.labels.copy()
    single, duplicated = np.arange(0, 5), np.arange(5, 10)
    labels[:10] = (labels[:10] + 1) % 3  # mislabel: only the sample itself can teach its label
    images = np.concatenate([images, images[duplicated]])  # each of these is present twice
    labels = np.concatenate([labels, labels[duplicated]])
    copies = np.concatenate([duplicated, len(ds.labels) + np.arange(5)])
    clean = np.arange(10, len(ds.labels))

    def make(seed):
        return create_model("resnet_tiny", num_classes=3, in_chans=1, image_size=16, seed=seed)

    result = memorization_scores(Tensors.from_arrays(images, labels), make_model=make,
                                 recipe=TrainConfig(epochs=15, batch_size=32, lr=0.05, flips=False), n_models=8, seed=0)
    mem = result.memorization_prob
    # measured: single 0.81, duplicated 0.44, clean 0.09 (its twin stands in when a copy is left out)
    assert mem[single].mean() > 0.6
    assert mem[copies].mean() < mem[single].mean() - 0.2
    assert mem[clean].mean() < 0.2
    assert result.memorization[single].mean() > 0.6

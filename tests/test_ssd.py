"""SSD's importance batches (a seeded random order, as the reference's random_split subsets)
and its search space (lambda fixed at the reference's 1, alpha around the default)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from unlearnlib.algorithms.ssd import (
    ALPHA_DEFAULT, SSDHyperparameters, importance, importance_batches, importance_seeds, ssd_importances, training_batches,
)
from unlearnlib.models import create_model
from unlearnlib.training import Tensors


def sorted_labels(n: int) -> np.ndarray:
    """Class 0 for the first half, class 1 for the second: the study's sorted indices."""
    return np.repeat([0, 1], n // 2)


@pytest.mark.parametrize("seed", range(5))
def test_importance_batches_mix_the_classes_of_a_class_sorted_set(seed):
    labels = sorted_labels(256)
    batches = importance_batches(256, 64, seed)
    assert [len(b) for b in batches] == [64] * 4
    assert sorted(np.concatenate(batches).tolist()) == list(range(256)), "every sample exactly once"
    shares = [labels[b].mean() for b in batches]
    assert all(0.3 <= s <= 0.7 for s in shares), f"class-1 share per batch {shares}: not a mix near 50 %"
    # index order, what importance walked before: every batch one class
    assert all(labels[b].min() == labels[b].max() for b in np.split(np.arange(256), 4))


def test_importance_batches_are_reproducible_and_depend_on_the_seed():
    assert all(np.array_equal(a, b) for a, b in zip(importance_batches(100, 32, 7), importance_batches(100, 32, 7)))
    assert not np.array_equal(np.concatenate(importance_batches(100, 32, 7)), np.concatenate(importance_batches(100, 32, 8)))
    assert [len(b) for b in importance_batches(100, 32, 7)] == [32, 32, 32, 4]  # the last batch is kept, short


def test_training_batches_walk_retain_then_forget_in_the_forget_importance_order():
    retain_seed, forget_seed = importance_seeds(3)
    assert retain_seed != forget_seed and importance_seeds(3) == (retain_seed, forget_seed)
    order = np.concatenate(training_batches(200, 56, 64, seed=3))
    assert sorted(order[:200].tolist()) == list(range(200))
    assert np.array_equal(order[200:] - 200, np.concatenate(importance_batches(56, 64, forget_seed)))
    labels = sorted_labels(200)
    assert all(0.2 <= labels[b].mean() <= 0.8 for b in np.split(order[:192], 3)), "retain batches mix the classes"


def test_bad_batch_size_and_seed_are_rejected_by_name():
    with pytest.raises(ValueError, match=r"batch_size=0 is not allowed; batch_size must be an integer >= 1"):
        importance_batches(10, 0, seed=0)
    with pytest.raises(ValueError, match=r"seed=-1 is not allowed; seed must be a non-negative integer"):
        importance_batches(10, 4, seed=-1)
    with pytest.raises(ValueError, match=r"seed=0.5 is not allowed"):
        importance_seeds(0.5)


@pytest.fixture(scope="module")
def probe():
    gen = torch.Generator().manual_seed(0)
    model = create_model("resnet_tiny_nopool", num_classes=2, in_chans=3, image_size=16, seed=0)
    x = torch.randn(96, 3, 16, 16, generator=gen)
    return model, Tensors(x + torch.from_numpy(sorted_labels(96)).float()[:, None, None, None], torch.from_numpy(sorted_labels(96)))


def test_importance_is_reproducible_per_seed_and_differs_between_seeds(probe):
    model, data = probe
    first, again, other = (importance(model, data, 32, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert any(not torch.allclose(a, b) for a, b in zip(first, other)), "the batch order did not matter"
    assert all(p.grad is None for p in model.parameters()), "importance leaves no gradients behind"


def test_ssd_importances_use_the_forget_stream_for_the_forget_importance(probe):
    model, data = probe
    task = SimpleNamespace(retain=Tensors(data.x[:64], data.y[:64]), forget=Tensors(data.x[64:], data.y[64:]))
    train_importance, forget_importance = ssd_importances(model, task, 16, seed=5)
    expected = importance(model, task.forget, 16, seed=importance_seeds(5)[1])
    assert all(torch.equal(a, b) for a, b in zip(forget_importance, expected))
    assert len(train_importance) == len(forget_importance) == len(list(model.parameters()))


def test_search_space_keeps_lambda_at_the_reference_value_and_alpha_near_the_default():
    space = SSDHyperparameters.search_space
    hp = SSDHyperparameters()
    assert hp.dampening == 1.0, "the reference's lambda is 1"
    lam_low = space["dampening"][1] if "dampening" in space else hp.dampening
    kind, alpha_low, alpha_high = space["alpha"]
    assert kind == "logfloat" and alpha_low <= ALPHA_DEFAULT <= alpha_high
    assert alpha_low <= 5.0 and 10.0 <= alpha_high, "the reference's alphas (ViT 5, ResNet18 10) stay reachable"
    # a selected weight shrinks by more than alpha / lambda: never more than about tenfold here
    assert alpha_high / lam_low <= 15, f"lambda {lam_low} may go far below alpha {alpha_high}"
    # below alpha = lambda a lower alpha changes nothing: no tuning budget spent there
    assert alpha_low >= lam_low

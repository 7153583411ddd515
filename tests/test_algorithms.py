"""The unlearning interface and the first two methods."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import unlearnlib.algorithms.retrain as retrain_module
from unlearnlib.algorithms import UnknownMethodError, UnlearningTask, available, unlearn
from unlearnlib.models import create_model
from unlearnlib.scenarios import random_fraction
from unlearnlib.training import Tensors, TrainConfig, evaluate, fit

RECIPE = TrainConfig(epochs=4, batch_size=32, lr=0.05)


@pytest.fixture(scope="module")
def task(synthetic):
    tensors = Tensors.from_arrays(synthetic.images, synthetic.labels)
    split = random_fraction(synthetic, fraction=0.2, seed=0)

    def make_model(seed):
        return create_model("resnet_tiny", num_classes=synthetic.num_classes, in_chans=1, image_size=16, seed=seed)

    original = make_model(0)
    fit(original, tensors.subset(synthetic.split_indices("train")), RECIPE, seed=0, progress=False)
    return UnlearningTask(
        original=original,
        retain=tensors.subset(split.retain),
        forget=tensors.subset(split.forget),
        val=tensors.subset(synthetic.split_indices("val")),
        recipe=RECIPE,
        make_model=make_model,
        num_classes=synthetic.num_classes,
    )


def _weights(model):
    return [t.clone() for t in model.state_dict().values()]


def test_registry_lists_methods_and_rejects_unknown_names():
    assert {"original", "retrain", "finetune"} <= set(available())
    with pytest.raises(UnknownMethodError, match="unknown unlearning method 'forgetall'.*retrain.*finetune"):
        unlearn("forgetall", None, seed=0)


def test_retrain_never_sees_a_forget_sample(task, monkeypatch):
    seen = []
    real_fit = retrain_module.fit

    def spy(model, data, *args, **kwargs):
        seen.append(data.x.clone())
        return real_fit(model, data, *args, **kwargs)

    monkeypatch.setattr(retrain_module, "fit", spy)
    unlearn("retrain", task, seed=0)
    assert len(seen) == 1 and len(seen[0]) == len(task.retain)
    # Compare image contents: no forget image occurs among the training images.
    trained = {row.numpy().tobytes() for row in seen[0].flatten(1)}
    assert not any(row.numpy().tobytes() in trained for row in task.forget.x.flatten(1))


@pytest.mark.parametrize("method", ["retrain", "finetune"])
def test_methods_leave_the_original_untouched_and_are_deterministic(task, method):
    before = _weights(task.original)
    first = unlearn(method, task, seed=3)
    second = unlearn(method, task, seed=3)
    for a, b in zip(before, _weights(task.original)):
        assert torch.equal(a, b)
    for a, b in zip(_weights(first.model), _weights(second.model)):
        assert torch.equal(a, b)
    assert first.seconds > 0


def test_finetune_keeps_retain_accuracy(task):
    before = evaluate(task.original, task.retain).accuracy
    after = evaluate(unlearn("finetune", task, seed=0).model, task.retain).accuracy
    assert after >= before - 0.05 and after > 0.9


def test_wrong_hyperparameter_type_is_rejected(task):
    from unlearnlib.algorithms.retrain import RetrainHyperparameters

    with pytest.raises(TypeError, match="finetune takes FinetuneHyperparameters"):
        unlearn("finetune", task, RetrainHyperparameters(), seed=0)

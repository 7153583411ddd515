"""Training, evaluation, the model factory and the model cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unlearnlib.models import create_model
from unlearnlib.results.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig, evaluate, fit, random_flips

RECIPE = TrainConfig(epochs=4, batch_size=32, lr=0.05)


def _train(data, seed):
    tensors = Tensors.from_arrays(data.images, data.labels)
    train = tensors.subset(data.split_indices("train"))
    model = create_model("resnet_tiny", num_classes=data.num_classes, in_chans=data.in_chans, image_size=16, seed=seed)
    history = fit(model, train, RECIPE, seed=seed, progress=False)
    return model, history, evaluate(model, tensors.subset(data.split_indices("test")))


def test_training_learns_the_synthetic_task(synthetic):
    _, history, test = _train(synthetic, seed=0)
    assert history.loss[-1] < history.loss[0]
    assert test.accuracy > 0.9  # chance is about 1/3


@pytest.mark.slow
def test_identical_seeds_give_identical_weights_and_metrics(synthetic):
    first_model, first_history, first = _train(synthetic, seed=5)
    second_model, second_history, second = _train(synthetic, seed=5)
    for a, b in zip(first_model.state_dict().values(), second_model.state_dict().values()):
        assert torch.equal(a, b)
    assert first_history.loss == second_history.loss
    np.testing.assert_array_equal(first.logits, second.logits)
    _, _, other = _train(synthetic, seed=6)
    assert not np.array_equal(first.logits, other.logits)


def test_evaluation_returns_per_sample_logits_and_losses(synthetic):
    model, history, test = _train(synthetic, seed=0)
    n = len(test.labels)
    assert test.logits.shape == (n, 3) and test.losses.shape == (n,)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(test.logits), torch.from_numpy(test.labels), reduction="none")
    np.testing.assert_allclose(test.losses, expected.numpy(), rtol=1e-5)
    assert history.correct.shape == (RECIPE.epochs, len(synthetic.split_indices("train")))


def test_flips_only_mirror_images():
    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.float32).reshape(2, 1, 3, 3)
    flipped = random_flips(x.clone(), torch.Generator().manual_seed(0))
    variants = [x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)]
    for i in range(2):
        assert any(torch.equal(flipped[i], v[i]) for v in variants)


def test_model_store_round_trip_and_corrupt_file_counts_as_absent(tmp_path):
    store = ModelStore(tmp_path)
    config = {"model": "resnet_tiny", "seed": 1, "recipe": RECIPE}
    model = create_model("resnet_tiny", num_classes=2, in_chans=1, image_size=16, seed=1)
    correct = np.array([[True, False], [True, True]])
    path = store.save("original", config, model, seconds=1.5, loss=[0.5, 0.25], correct=correct)
    fresh = create_model("resnet_tiny", num_classes=2, in_chans=1, image_size=16, seed=2)
    info = store.load("original", config, fresh)
    assert info["seconds"] == 1.5 and info["loss"] == [0.5, 0.25]
    np.testing.assert_array_equal(info["correct"], correct)
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)
    assert store.load("original", {**config, "seed": 2}, fresh) is None  # another config, another key
    path.write_bytes(path.read_bytes()[:100])  # a truncated file: rebuild, don't crash
    assert store.load("original", config, fresh) is None


def test_model_factory_rejects_unknown_names_and_tiny_images():
    with pytest.raises(ValueError, match="unknown model 'resnet_huge'"):
        create_model("resnet_huge", num_classes=2, in_chans=1, image_size=28, seed=0)
    with pytest.raises(ValueError, match="at least 16 px"):
        create_model("resnet_tiny", num_classes=2, in_chans=1, image_size=8, seed=0)


def test_empty_training_set_is_an_error():
    empty = Tensors(torch.zeros(0, 1, 16, 16), torch.zeros(0, dtype=torch.int64))
    model = create_model("resnet_tiny", num_classes=2, in_chans=1, image_size=16, seed=0)
    with pytest.raises(ValueError, match="empty"):
        fit(model, empty, RECIPE, seed=0, progress=False)


def test_min_steps_lengthens_training_on_a_small_set_only():
    recipe = TrainConfig(epochs=2, batch_size=10, min_steps=12)
    assert recipe.epochs_for(25) == 4  # 3 steps per epoch: 4 epochs reach 12 steps
    assert recipe.epochs_for(100) == 2  # 10 steps per epoch: the declared epochs already pass the floor
    assert TrainConfig(epochs=2, batch_size=10).epochs_for(25) == 2  # no floor: epochs whatever the size
    with pytest.raises(ValueError, match="min_steps >= 0"):
        TrainConfig(min_steps=-1)


def test_a_small_set_memorizes_only_with_the_floor_and_the_check_says_so():
    """A miniature of a small dataset (random labels: only memorization can fit them): the same
    recipe in epochs misses the memorization target and the check warns; with a floor on steps
    it reaches the target and the check is silent."""
    from unlearnlib.kinds.originals import MemorizationWarning, check_memorization

    generator = torch.Generator().manual_seed(0)
    data = Tensors(torch.rand(48, 3, 16, 16, generator=generator), torch.randint(0, 3, (48,), generator=generator))
    target = {"train_acc": 0.97}
    accuracies = {}
    for floor in (0, 150):
        model = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
        fit(model, data, TrainConfig(epochs=2, batch_size=16, lr=0.05, flips=False, min_steps=floor), seed=0, progress=False)
        accuracies[floor] = evaluate(model, data).accuracy
    row = {"dataset": "miniature", "seed": 0, "train_acc": accuracies[0]}
    with pytest.warns(MemorizationWarning, match="misses the memorization target: train_acc"):
        assert check_memorization(row, target)
    assert accuracies[150] >= 0.97
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_memorization({**row, "train_acc": accuracies[150]}, target) == []


def test_a_notebook_prints_a_missed_memorization_target_as_a_plain_line(capsys):
    """Executed notebooks carry no warning boxes or file paths: within the context the miss is one
    printed line, and other warnings still pass through as warnings."""
    import warnings

    from unlearnlib.kinds.originals import MemorizationWarning, check_memorization, memorization_misses_printed

    row = {"dataset": "miniature", "seed": 3, "train_acc": 0.9696}
    with pytest.warns(UserWarning, match="unrelated") as shown:
        with memorization_misses_printed():
            check_memorization(row, {"train_acc": 0.97})
            warnings.warn("unrelated", UserWarning)
    assert not [w for w in shown if issubclass(w.category, MemorizationWarning)]
    printed = capsys.readouterr().out
    assert printed.startswith("Memorization target missed: the original miniature seed 3 misses the memorization target: train_acc 0.9696 < 0.97")
    assert "Warning" not in printed and "/" not in printed.split("target:")[1].split(".")[0]

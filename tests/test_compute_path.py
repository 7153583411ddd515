"""The opt-in compute path: the default is today's loop bit for bit; the fast path still trains."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unlearnlib.models import create_model
from unlearnlib.training import (EAGER_FP32, ComputePath, Tensors, TrainConfig, batch_order, choose_path, deterministic,
                                 current_path, evaluate, fit, generator, make_optimizer, native_bf16,
                                 random_flips, use_path)

RECIPE = TrainConfig(epochs=3, batch_size=32, lr=0.05, flips=True)


def _data(n: int = 192, seed: int = 0) -> Tensors:
    # Three classes told apart by the mean brightness of one channel: learnable in a few epochs.
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 120, (n, 3, 28, 28)).astype(np.uint8)
    images[:, 0] += (labels * 60).astype(np.uint8)[:, None, None]
    return Tensors.from_arrays(images, labels)


def _model(seed: int = 0):
    # 28 px, the study's size: at 16 px resnet_tiny's last stage sees 1 x 1 maps, where oneDNN's
    # bf16 weight gradient was seen to write garbage into layer4 (torch 2.14.1, avx512_bf16)
    return create_model("resnet_tiny_nopool", num_classes=3, in_chans=3, image_size=28, seed=seed)


def _reference_fit(model, data: Tensors, config: TrainConfig, seed: int) -> list[float]:
    """The training loop as it was before compute paths existed (kept verbatim, minus the bar)."""
    gen = generator(seed)
    optimizer, scheduler = make_optimizer(model, config, math.ceil(len(data) / config.batch_size))
    losses = []
    with deterministic():
        model.train()
        for _ in range(config.epochs):
            total_loss = torch.zeros(())
            for index in batch_order(len(data), config.batch_size, gen):
                x, y = data.x[index], data.y[index]
                if config.flips:
                    x = random_flips(x, gen)
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total_loss += loss.detach() * len(index)
            losses.append(total_loss.item() / len(data))
    return losses


def test_default_path_is_the_old_loop_bit_for_bit():
    data = _data()
    reference, ours = _model(), _model()
    reference_losses = _reference_fit(reference, data, RECIPE, seed=3)
    history = fit(ours, data, RECIPE, seed=3, progress=False)  # no path given: the default
    assert history.loss == reference_losses
    for (name, a), b in zip(reference.state_dict().items(), ours.state_dict().values()):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(evaluate(reference, data).logits, evaluate(ours, data).logits)


def test_fast_path_trains_and_leaves_weights_in_the_default_layout():
    data = _data()
    model = _model()
    path = ComputePath(channels_last=True, bf16=True)
    history = fit(model, data, TrainConfig(epochs=6, batch_size=32, lr=0.05, flips=False), seed=0, progress=False, path=path)
    assert history.loss[-1] < 0.7 * history.loss[0]
    assert all(p.is_contiguous() for p in model.parameters())
    fast, exact = evaluate(model, data, path=path), evaluate(model, data)
    assert fast.logits.dtype == np.float32
    assert np.mean(fast.preds == exact.preds) > 0.95  # bf16 rounding flips few predictions
    # ...and it differs from eager fp32, or the path was not applied at all
    eager = _model()
    fit(eager, data, TrainConfig(epochs=6, batch_size=32, lr=0.05, flips=False), seed=0, progress=False)
    assert not torch.equal(next(eager.parameters()), next(model.parameters()))


def test_a_model_evaluated_on_the_fast_path_can_be_trained_again():
    # Converting the weights' layout inside inference mode turned them into inference tensors,
    # and the next backward pass (a later fit, an unlearning method, dead_weight_share) failed.
    data, model = _data(), _model()
    path = ComputePath(channels_last=True, bf16=True)
    evaluate(model, data, path=path)
    assert not any(p.is_inference() for p in model.parameters())
    before = next(model.parameters()).detach().clone()
    fit(model, data, TrainConfig(epochs=1, batch_size=32, lr=0.05, flips=False), seed=0, progress=False, path=path)
    F.cross_entropy(model(data.x[:8]), data.y[:8]).backward()  # eager, with gradients, as dead_weight_share does
    assert not torch.equal(before, next(model.parameters()))


def test_choose_path_and_labels():
    assert EAGER_FP32.label() == "eager-fp32"
    assert ComputePath(channels_last=True, bf16=True).label() == "channels_last+bf16"
    cpu = choose_path("cpu")
    assert cpu.channels_last and cpu.bf16 == native_bf16("cpu") and not cpu.compile
    assert choose_path("cpu", compile=True).compile
    assert not choose_path("meta").bf16  # no such hardware: never emulated bf16
    for path in (EAGER_FP32, cpu, ComputePath(bf16=True, compile=True)):
        assert ComputePath.from_label(path.label()) == path
    with pytest.raises(ValueError, match="fp16"):
        ComputePath.from_label("channels_last+fp16")


def test_fit_refuses_a_path_that_is_not_a_compute_path():
    with pytest.raises(TypeError, match="ComputePath"):
        fit(_model(), _data(32), RECIPE, seed=0, progress=False, path="bf16")


def test_use_path_sets_the_path_for_calls_that_name_none():
    data, recipe = _data(), TrainConfig(epochs=2, batch_size=32, lr=0.05, flips=False)
    fast = ComputePath(channels_last=True, bf16=True)
    explicit, scoped = _model(), _model()
    fit(explicit, data, recipe, seed=1, progress=False, path=fast)
    with use_path(fast):
        assert current_path() == fast
        fit(scoped, data, recipe, seed=1, progress=False)
    assert current_path() == EAGER_FP32  # restored on leaving
    for a, b in zip(explicit.state_dict().values(), scoped.state_dict().values()):
        assert torch.equal(a, b)  # also: the fast path is deterministic run to run
    with pytest.raises(TypeError, match="ComputePath"):
        with use_path("bf16"):
            pass

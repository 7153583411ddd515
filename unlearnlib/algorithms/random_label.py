"""Random labels (RL): train on the retain set together with the forget set relabelled at
random, so the model unlearns the forget samples' true labels.
Golatkar et al., CVPR 2020 / Hayase et al.; as in Fan et al.'s SalUn code (unlearn/RL.py),
whose mechanism this follows: each epoch draws fresh labels uniformly over all K classes
(a label may equal the true one, with probability 1/K) and makes one shuffled pass over
retain + relabelled forget; SGD with momentum 0.9 and weight decay 5e-4.

Defaults, scaled by optimizer steps: the reference runs 10 epochs of batch 256 over CIFAR-10
(45,000 images: about 1,770 steps at lr 0.01). Here one epoch over about 7,000 images at
batch 64 is 110 steps; 4 epochs (440 steps, lr 0.01) is what fits in a fifth of a retrain
(30 epochs over the retain set), so the step count is cut, not the learning rate.

Loss: CE(retain) + CE(forget, labels ~ U{0..K-1} redrawn each epoch), over their union.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, Domain
from ..training import Tensors
from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device, uniform_labels


@dataclass(frozen=True)
class RandomLabelHyperparameters(Hyperparameters):
    epochs: int = 4
    lr: float = 0.01
    batch_size: int = 64

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 5)}


def relabelled_union(task, gen: torch.Generator) -> Tensors:
    """Retain as it is plus forget with labels drawn uniformly over all classes."""
    drawn = uniform_labels(len(task.forget), task.num_classes, gen)
    return Tensors(torch.cat([task.retain.x, task.forget.x]), torch.cat([task.retain.y, drawn]))


def train_on_random_labels(model, task, hp, gen: torch.Generator, *, grad_mask=None, weight_decay: float = 5e-4) -> None:
    """Epochs of CE training on retain + randomly relabelled forget, labels redrawn each
    epoch. With ``grad_mask`` (SalUn) only masked weights move: their gradient and weight
    decay are masked, so the others stay exactly at the original's values."""
    optimizer = sgd(model, hp.lr, weight_decay=weight_decay if grad_mask is None else 0.0)
    parameters = list(model.parameters())

    def mask_gradients():
        for parameter, mask in zip(parameters, grad_mask):
            parameter.grad.add_(parameter.detach(), alpha=weight_decay).mul_(mask)

    model.train()
    for _ in range(hp.epochs):
        data = relabelled_union(task, gen)
        for x, y in batches(data, hp.batch_size, gen, flips=task.recipe.flips):
            x, y = to_device(model, x, y)
            step(optimizer, F.cross_entropy(model(x), y), before_update=mask_gradients if grad_mask is not None else None)


@register(
    "random_label", hyperparameters=RandomLabelHyperparameters, summary="train on retain + forget with random labels (RL)",
    version="a6ed5838fb",  # the source digest it replaced: its committed rows keep their code version
)
def random_label(model, task, hp, *, seed, progress):
    train_on_random_labels(model, task, hp, generator(seed))
    return model

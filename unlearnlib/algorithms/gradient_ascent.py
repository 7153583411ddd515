"""Gradient ascent (GA, "NegGrad"): climb the loss on the forget set.
Thudi et al., "Unrolling SGD", EuroS&P 2022; as implemented in Jia et al.'s Unlearn-Sparse
and Fan et al.'s SalUn code (unlearn/GA.py): SGD with momentum 0.9 and weight decay 5e-4.

Scaled by optimizer steps: the reference ascends at lr 1e-4 with batch 256 for 5 epochs
over a 10 % CIFAR-10 forget set (4,500 images: 18 steps per epoch, 90 steps). A 10 %
HAM10000 forget set (700 images) at batch 64 takes 11 steps per epoch, so 8 epochs give
the same 88 steps; lr 1e-4 is kept, since the step count, not the batch, is matched (a
batch-mean gradient does not grow with the batch).

Loss: -CE(forget).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, Domain
from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device


@dataclass(frozen=True)
class GradientAscentHyperparameters(Hyperparameters):
    epochs: int = 8
    lr: float = 1e-4
    batch_size: int = 64

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-5, 1e-2), "epochs": ("int", 1, 20)}


@register(
    "gradient_ascent", hyperparameters=GradientAscentHyperparameters, summary="ascend the loss on forget (GA / NegGrad)",
    version="73eedc4f0a",  # the source digest it replaced: its committed rows keep their code version
)
def gradient_ascent(model, task, hp, *, seed, progress):
    gen = generator(seed)
    optimizer = sgd(model, hp.lr)
    model.train()
    for _ in range(hp.epochs):
        for x, y in batches(task.forget, hp.batch_size, gen, flips=task.recipe.flips):
            x, y = to_device(model, x, y)
            step(optimizer, -F.cross_entropy(model(x), y))
    return model

"""Gradient ascent (GA, "NegGrad"): climb the loss on the forget set.
Thudi et al., "Unrolling SGD", EuroS&P 2022; as implemented in Jia et al.'s
Unlearn-Sparse code (NeurIPS 2023), which the defaults follow.

Loss: -CE(forget).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F

from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device


@dataclass(frozen=True)
class GradientAscentHyperparameters(Hyperparameters):
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64

    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-5, 1e-2), "epochs": ("int", 1, 10)}


@register("gradient_ascent", hyperparameters=GradientAscentHyperparameters, summary="ascend the loss on forget (GA / NegGrad)")
def gradient_ascent(model, task, hp, *, seed, progress):
    gen = generator(seed)
    optimizer = sgd(model, hp.lr)
    model.train()
    for _ in range(hp.epochs):
        for x, y in batches(task.forget, hp.batch_size, gen):
            x, y = to_device(model, x, y)
            step(optimizer, -F.cross_entropy(model(x), y))
    return model

"""NegGrad+: descend on retain while ascending on forget.
Kurmanji et al., "Towards Unbounded Machine Unlearning" (SCRUB), NeurIPS 2023.

Loss: alpha * CE(retain) - (1 - alpha) * CE(forget).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F

from .base import Hyperparameters, register
from .common import generator, paired_batches, sgd, step, to_device


@dataclass(frozen=True)
class NegGradPlusHyperparameters(Hyperparameters):
    alpha: float = 0.95
    epochs: int = 2
    lr: float = 0.01
    batch_size: int = 64

    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-4, 1e-1), "epochs": ("int", 1, 5), "alpha": ("float", 0.5, 0.999),
    }


@register("neggrad_plus", hyperparameters=NegGradPlusHyperparameters, summary="alpha*CE(retain) - (1-alpha)*CE(forget) (NegGrad+)")
def neggrad_plus(model, task, hp, *, seed, progress):
    gen = generator(seed)
    optimizer = sgd(model, hp.lr)
    model.train()
    for _ in range(hp.epochs):
        for (xr, yr), (xf, yf) in paired_batches(task.retain, task.forget, hp.batch_size, gen):
            xr, yr, xf, yf = to_device(model, xr, yr, xf, yf)
            loss = hp.alpha * F.cross_entropy(model(xr), yr) - (1 - hp.alpha) * F.cross_entropy(model(xf), yf)
            step(optimizer, loss)
    return model

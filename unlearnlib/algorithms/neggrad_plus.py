"""NegGrad+: descend on retain while ascending on forget.
Kurmanji et al., "Towards Unbounded Machine Unlearning" (SCRUB), NeurIPS 2023. Mechanism
from their code (negative_grad / run_neggrad_epoch): plain SGD (no momentum, no weight
decay), alpha 0.95, lr 0.01; one pass over the retain loader with the forget loader cycled
beside it; the retain term carries an l2 pull (weight decay 5e-4) towards the weights the
method started from, not towards zero.

Scaled by optimizer steps: the reference's runs take 130 steps (small scale: 10 epochs of
13) to 1,760 (CIFAR-10: 5 epochs of 352). Here one pass at batch 64 is 99 steps over the
retain set, each step also seeing a forget batch; 2 epochs (about 200 steps) is what fits in
a fifth of a retrain.

Loss: alpha * (CE(retain) + wd/2 * ||theta - theta_0||^2) - (1 - alpha) * CE(forget).
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import ClassVar, Mapping

import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, WEIGHT, Domain, Interval, domain
from .base import Hyperparameters, register
from .common import generator, paired_batches, sgd, step, to_device


@dataclass(frozen=True)
class NegGradPlusHyperparameters(Hyperparameters):
    alpha: float = 0.95
    epochs: int = 2
    lr: float = 0.01
    batch_size: int = 64
    weight_decay: float = 5e-4  # of the pull towards the starting weights

    domains: ClassVar[Mapping[str, Domain]] = {
        "alpha": domain(Interval(Real, 0, 1, closed="both")),  # alpha*retain - (1-alpha)*forget
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "batch_size": BATCH_SIZE,
        "weight_decay": WEIGHT,
    }
    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 3), "alpha": ("float", 0.5, 0.999),
    }


def pull_to_start(model, start: list[torch.Tensor], weight_decay: float) -> torch.Tensor:
    return weight_decay / 2 * sum((p - p0).pow(2).sum() for p, p0 in zip(model.parameters(), start))


@register(
    "neggrad_plus", hyperparameters=NegGradPlusHyperparameters, summary="alpha*CE(retain) - (1-alpha)*CE(forget) (NegGrad+)",
    version="242e802945",  # the source digest it replaced: its committed rows keep their code version
)
def neggrad_plus(model, task, hp, *, seed, progress):
    gen = generator(seed)
    start = [p.detach().clone() for p in model.parameters()]
    optimizer = sgd(model, hp.lr, momentum=0.0, weight_decay=0.0)
    model.train()
    for _ in range(hp.epochs):
        for (xr, yr), (xf, yf) in paired_batches(task.retain, task.forget, hp.batch_size, gen, flips=task.recipe.flips):
            xr, yr, xf, yf = to_device(model, xr, yr, xf, yf)
            retain_term = F.cross_entropy(model(xr), yr) + pull_to_start(model, start, hp.weight_decay)
            loss = hp.alpha * retain_term - (1 - hp.alpha) * F.cross_entropy(model(xf), yf)
            step(optimizer, loss)
    return model

"""l1-sparse fine-tuning: fine-tune on retain with an l1 penalty whose weight decays
linearly to zero, pushing the model towards sparsity, which eases unlearning.
Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023 (defaults from
their Unlearn-Sparse code: alpha 5e-4 decaying linearly per epoch, SGD momentum 0.9, weight
decay 5e-4, lr 0.01, 10 epochs over the retain set at batch 256).

Scaled by optimizer steps: the reference's 10 epochs over 40,500 CIFAR-10 retain images are
about 1,580 steps. Here one epoch at batch 64 over 6,300 retain images is 99 steps; 4 epochs
(about 400 steps) is what fits in a fifth of a retrain (each step also sums |theta|).

Loss: CE(retain) + alpha_t * ||theta||_1,  alpha_t = alpha * (1 - t / T).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, WEIGHT, Domain
from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device


@dataclass(frozen=True)
class L1SparseHyperparameters(Hyperparameters):
    epochs: int = 4  # the reference runs 10 (1,580 steps); 4 (400 steps) fits a fifth of a retrain
    lr: float = 0.01
    alpha: float = 5e-4
    batch_size: int = 64

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "alpha": WEIGHT,  # the l1 penalty's weight
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 5), "alpha": ("logfloat", 1e-6, 1e-3),
    }


def l1_norm(model) -> torch.Tensor:
    return sum(parameter.abs().sum() for parameter in model.parameters())


@register(
    "l1_sparse", hyperparameters=L1SparseHyperparameters, summary="fine-tune on retain with a decaying l1 penalty",
    version="ac3779fe70",  # the source digest it replaced: its committed rows keep their code version
)
def l1_sparse(model, task, hp, *, seed, progress):
    gen = generator(seed)
    optimizer = sgd(model, hp.lr)
    model.train()
    for epoch in range(hp.epochs):
        alpha = hp.alpha * (1 - epoch / hp.epochs)
        for x, y in batches(task.retain, hp.batch_size, gen, flips=task.recipe.flips):
            x, y = to_device(model, x, y)
            step(optimizer, F.cross_entropy(model(x), y) + alpha * l1_norm(model))
    return model

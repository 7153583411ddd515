"""Boundary Shrink: relabel each forget sample with its nearest wrong class (found by an
adversarial attack on the original model) and fine-tune on those labels, shrinking the
decision boundary around the forget set.
Chen et al., "Boundary Unlearning", CVPR 2023 (attack from their code: L-inf PGD, bound
0.1 and step 8/255 in [0, 1] pixel units, 5 iterations; fine-tuning: SGD lr 1e-5, 10 epochs).

Loss: CE(forget, nearest adversarial label).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device

PIXEL_SCALE = 2.0  # our inputs span [-1, 1]: twice the [0, 1] range the attack bounds refer to


@dataclass(frozen=True)
class BoundaryShrinkHyperparameters(Hyperparameters):
    epochs: int = 10
    lr: float = 1e-5
    bound: float = 0.1
    attack_step: float = 8 / 255
    attack_iterations: int = 5
    batch_size: int = 64

    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-5, 1e-2), "epochs": ("int", 1, 10), "bound": ("float", 0.01, 0.3),
    }


def nearest_wrong_labels(model, x: torch.Tensor, y: torch.Tensor, hp) -> torch.Tensor:
    """The class an untargeted L-inf PGD attack pushes each sample into. Where the attack
    fails to leave the true class, the runner-up class of the attacked image is used."""
    model.eval()
    bound, step_size = hp.bound * PIXEL_SCALE, hp.attack_step * PIXEL_SCALE
    adversarial = x.clone()
    for _ in range(hp.attack_iterations):
        adversarial.requires_grad_(True)
        loss = F.cross_entropy(model(adversarial), y)
        (gradient,) = torch.autograd.grad(loss, adversarial)
        adversarial = adversarial.detach() + step_size * gradient.sign()
        adversarial = (x + (adversarial - x).clamp(-bound, bound)).clamp(-1, 1)
    with torch.no_grad():
        logits = model(adversarial)
    logits[torch.arange(len(y)), y] = float("-inf")
    return logits.argmax(1)


@register("boundary_shrink", hyperparameters=BoundaryShrinkHyperparameters, summary="fine-tune forget towards its nearest adversarial class")
def boundary_shrink(model, task, hp, *, seed, progress):
    gen = generator(seed)
    attacked = copy.deepcopy(model)
    x, y = to_device(attacked, task.forget.x, task.forget.y)
    labels = torch.cat([nearest_wrong_labels(attacked, x[i : i + 256], y[i : i + 256], hp) for i in range(0, len(y), 256)])
    relabelled = type(task.forget)(task.forget.x, labels.cpu())
    optimizer = sgd(model, hp.lr)
    model.train()
    for _ in range(hp.epochs):
        for xb, yb in batches(relabelled, hp.batch_size, gen):
            xb, yb = to_device(model, xb, yb)
            step(optimizer, F.cross_entropy(model(xb), yb))
    return model

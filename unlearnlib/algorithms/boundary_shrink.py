"""Boundary Shrink: relabel each forget sample with the class an adversarial step on the
original model lands in, and fine-tune on those labels, shrinking the decision boundary
around the forget set. Chen et al., "Boundary Unlearning", CVPR 2023. Mechanism from the
authors' code (boundary_unlearning.py, also SalUn's unlearn/boundary_sh.py): one untargeted
FGSM step of size 0.1 in [0, 1] pixel units (x2 here: our inputs span [-1, 1]), clipped and
rounded to the 8-bit grid; the label is the original's argmax on the attacked image, which
keeps the true label where the attack fails; the clean image is then trained towards it
with SGD lr 1e-5, momentum 0.9, no weight decay, batch 64, 10 epochs.

The attacking model is the frozen original and FGSM without a random start is
deterministic, so the labels are the same every epoch: they are computed once.

Scaled by optimizer steps: the reference forgets a CIFAR-10 class (5,000 images, 79 steps
per epoch at batch 64, 790 steps). A 10 % HAM10000 forget set (700 images) at batch 32 takes
22 steps per epoch, so 36 epochs give about the same 790 steps at lr 1e-5 (about 25,000
forward-backward passes, an eighth of a retrain).

Loss: CE(forget, argmax original(x + 0.1 * sign(grad_x CE(original(x), y)))).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, SHARE, Domain
from .base import Hyperparameters, register
from .common import batches, generator, sgd, step, to_device

PIXEL_SCALE = 2.0  # our inputs span [-1, 1]: twice the [0, 1] range the attack bound refers to


@dataclass(frozen=True)
class BoundaryShrinkHyperparameters(Hyperparameters):
    epochs: int = 36
    lr: float = 1e-5
    bound: float = 0.1  # FGSM step, in [0, 1] pixel units
    batch_size: int = 32

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "bound": SHARE,  # FGSM step in (0, 1] pixel units
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-5, 1e-3), "epochs": ("int", 5, 60), "bound": ("float", 0.01, 0.3),
    }


def to_pixel_grid(x: torch.Tensor) -> torch.Tensor:
    """Clip to the image range and round to the 8-bit grid, as the reference's attack does."""
    unit = ((x.clamp(-1, 1) + 1) / 2 * 255).round() / 255
    return unit * 2 - 1


def adversarial_labels(model, x: torch.Tensor, y: torch.Tensor, bound: float) -> torch.Tensor:
    """The original's prediction on the FGSM-attacked image: the nearest other class where the
    attack crosses a boundary, the true class where it does not."""
    model.eval()
    attacked = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(attacked), y), attacked)
    attacked = to_pixel_grid(x + bound * PIXEL_SCALE * gradient.sign())
    with torch.no_grad():
        return model(attacked).argmax(1)


def nearest_wrong_labels(model, x: torch.Tensor, y: torch.Tensor, hp) -> torch.Tensor:
    """``adversarial_labels`` with the bound of ``hp`` (the name predates the FGSM fix: the
    label is the attacked argmax, the true label where the attack fails)."""
    return adversarial_labels(model, x, y, hp.bound)


@register(
    "boundary_shrink", hyperparameters=BoundaryShrinkHyperparameters, summary="fine-tune forget towards its FGSM-attacked label",
    version="daeca95e5a",  # the source digest it replaced: its committed rows keep their code version
)
def boundary_shrink(model, task, hp, *, seed, progress):
    gen = generator(seed)
    attacker = copy.deepcopy(model)
    x, y = to_device(attacker, task.forget.x, task.forget.y)
    labels = torch.cat([adversarial_labels(attacker, x[i : i + 256], y[i : i + 256], hp.bound) for i in range(0, len(y), 256)])
    relabelled = type(task.forget)(task.forget.x, labels.cpu())
    optimizer = sgd(model, hp.lr, weight_decay=0.0)
    model.train()
    for _ in range(hp.epochs):
        for xb, yb in batches(relabelled, hp.batch_size, gen, flips=task.recipe.flips):
            xb, yb = to_device(model, xb, yb)
            step(optimizer, F.cross_entropy(model(xb), yb))
    return model

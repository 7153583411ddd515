"""SalUn: random-label unlearning restricted to the weights most salient for the forget
set. Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency",
ICLR 2024 (mechanism from their code: generate_mask.py keeps the top 50 % of all weights by
|gradient of the forget loss|, one global threshold; then RL, unlearn/RL.py, with the
gradient masked, labels uniform over all K classes and redrawn each epoch).

Defaults, scaled by optimizer steps: the README's SalUn run is 10 epochs at lr 0.013, batch
256, on CIFAR-10 (about 1,770 steps). Here 4 epochs at batch 64 (about 440 steps over
7,000 images) is what fits in a fifth of a retrain; lr 0.013 is kept.

Mask: m = 1[|grad_theta CE(forget)| in the top `saliency` share]; then RL with grad * m.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, SHARE, Domain
from .base import Hyperparameters, register
from .common import generator, to_device
from .random_label import train_on_random_labels


@dataclass(frozen=True)
class SalUnHyperparameters(Hyperparameters):
    epochs: int = 4
    lr: float = 0.013
    saliency: float = 0.5  # share of weights that may change
    batch_size: int = 64

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "saliency": SHARE,  # share of weights that may change
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 5), "saliency": ("float", 0.1, 0.9),
    }


def forget_gradient_magnitudes(model, forget, batch_size: int = 256) -> list[torch.Tensor]:
    """|gradient of the summed CE loss over the forget set| for each parameter."""
    model.eval()  # the gradient of the trained model as it predicts, without updating BN statistics
    model.zero_grad(set_to_none=True)
    for start in range(0, len(forget), batch_size):
        x, y = to_device(model, forget.x[start : start + batch_size], forget.y[start : start + batch_size])
        F.cross_entropy(model(x), y, reduction="sum").backward()
    magnitudes = [p.grad.detach().abs() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return magnitudes


def saliency_mask(model, forget, share: float, batch_size: int = 256) -> list[torch.Tensor]:
    """1 for the ``share`` of weights with the largest |gradient| of the forget loss, over
    all parameters together (a global threshold, as in the reference code)."""
    if not 0 < share <= 1:
        raise ValueError(f"saliency share must lie in (0, 1]; got {share}")
    magnitudes = forget_gradient_magnitudes(model, forget, batch_size)
    flat = torch.cat([m.flatten() for m in magnitudes])
    keep = max(1, int(round(share * flat.numel())))
    chosen = torch.zeros_like(flat)
    chosen[torch.topk(flat, keep).indices] = 1.0  # exactly `keep` weights, even among ties (zero gradients)
    return [c.view_as(m) for c, m in zip(chosen.split([m.numel() for m in magnitudes]), magnitudes)]


@register(
    "salun", hyperparameters=SalUnHyperparameters, summary="random labels on the most forget-salient weights (SalUn)",
    version="04d6deb45e",  # the source digest it replaced: its committed rows keep their code version
)
def salun(model, task, hp, *, seed, progress):
    mask = saliency_mask(model, task.forget, hp.saliency)
    train_on_random_labels(model, task, hp, generator(seed), grad_mask=mask)
    return model

"""SalUn: random-label unlearning restricted to the weights most salient for the forget
set. Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency",
ICLR 2024 (defaults from their code: top 50 % of weights by |gradient| of the forget loss).

Mask: m = 1[|grad_theta CE(forget)| in the top `sparsity` share]; then RL with grad * m.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from .base import Hyperparameters, register
from .common import generator, to_device
from .random_label import relabelled_union, train_on


@dataclass(frozen=True)
class SalUnHyperparameters(Hyperparameters):
    epochs: int = 3
    lr: float = 0.01
    saliency: float = 0.5  # share of weights that may change
    batch_size: int = 64

    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-4, 1e-1), "epochs": ("int", 1, 5), "saliency": ("float", 0.1, 0.9),
    }


def saliency_mask(model, forget, share: float, batch_size: int = 256) -> list[torch.Tensor]:
    """1 for the ``share`` of weights with the largest |gradient| of the forget loss, over
    all parameters together (a global threshold, as in the reference code)."""
    if not 0 < share <= 1:
        raise ValueError(f"saliency share must lie in (0, 1]; got {share}")
    model.eval()  # the gradient of the trained model as it predicts, without updating BN statistics
    model.zero_grad(set_to_none=True)
    for start in range(0, len(forget), batch_size):
        x, y = to_device(model, forget.x[start : start + batch_size], forget.y[start : start + batch_size])
        F.cross_entropy(model(x), y, reduction="sum").backward()
    magnitudes = [p.grad.abs() for p in model.parameters()]
    flat = torch.cat([m.flatten() for m in magnitudes])
    keep = max(1, int(round(share * flat.numel())))
    chosen = torch.zeros_like(flat)
    chosen[torch.topk(flat, keep).indices] = 1.0  # exactly `keep` weights, even among ties (zero gradients)
    model.zero_grad(set_to_none=True)
    return [c.view_as(m) for c, m in zip(chosen.split([m.numel() for m in magnitudes]), magnitudes)]


@register("salun", hyperparameters=SalUnHyperparameters, summary="random labels on the most forget-salient weights (SalUn)")
def salun(model, task, hp, *, seed, progress):
    gen = generator(seed)
    mask = saliency_mask(model, task.forget, hp.saliency)
    train_on(model, relabelled_union(task, gen), hp, gen, grad_mask=mask)
    return model

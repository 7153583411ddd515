"""Random labels (RL): train on the retain set together with the forget set relabelled at
random, so the model unlearns the forget samples' true labels.
Golatkar et al., CVPR 2020 / Hayase et al.; as in Jia et al.'s Unlearn-Sparse and Fan et
al.'s SalUn code, which the defaults follow (one shuffled set of retain + relabelled forget).

Loss: CE(retain) + CE(forget, random wrong labels), over their union.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..training import Tensors
from .base import Hyperparameters, register
from .common import batches, generator, random_other_labels, sgd, to_device


@dataclass(frozen=True)
class RandomLabelHyperparameters(Hyperparameters):
    epochs: int = 3
    lr: float = 0.01
    batch_size: int = 64

    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-4, 1e-1), "epochs": ("int", 1, 5)}


def relabelled_union(task, gen: torch.Generator) -> Tensors:
    """Retain as it is plus forget with random wrong labels (drawn once, as in the reference code)."""
    wrong = random_other_labels(task.forget.y, task.num_classes, gen)
    return Tensors(torch.cat([task.retain.x, task.forget.x]), torch.cat([task.retain.y, wrong]))


def train_on(model, data: Tensors, hp, gen: torch.Generator, *, grad_mask=None) -> None:
    """Plain CE training on ``data``; with ``grad_mask`` only masked weights move (SalUn)."""
    optimizer = sgd(model, hp.lr, weight_decay=0.0 if grad_mask is not None else 5e-4)
    model.train()
    for _ in range(hp.epochs):
        for x, y in batches(data, hp.batch_size, gen):
            x, y = to_device(model, x, y)
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            if grad_mask is not None:
                for parameter, mask in zip(model.parameters(), grad_mask):
                    parameter.grad.mul_(mask)
            optimizer.step()


@register("random_label", hyperparameters=RandomLabelHyperparameters, summary="train on retain + forget with random labels (RL)")
def random_label(model, task, hp, *, seed, progress):
    gen = generator(seed)
    train_on(model, relabelled_union(task, gen), hp, gen)
    return model

"""SCRUB: the student (starting as the original) moves away from the original teacher on
the forget set (max steps) and stays close to it on the retain set (min steps).
Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023 (defaults from their
code: 3 epochs, 2 of them with max steps, T = 4, alpha 0.001, gamma 0.99, forget batch 32).

Max step: -KL(teacher || student)(forget).  Min step: gamma * CE(retain) + alpha * KL(teacher || student)(retain).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from .base import Hyperparameters, register
from .common import batches, distillation_loss, generator, sgd, step, to_device


@dataclass(frozen=True)
class ScrubHyperparameters(Hyperparameters):
    epochs: int = 3
    max_steps: int = 2  # epochs (from the first) that begin with a max step over the forget set
    lr: float = 5e-4
    temperature: float = 4.0
    alpha: float = 0.001  # weight of the retain KL term
    gamma: float = 0.99  # weight of the retain CE term
    batch_size: int = 128
    forget_batch_size: int = 32

    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-4, 5e-2), "epochs": ("int", 1, 5), "max_steps": ("int", 1, 5),
    }


@register("scrub", hyperparameters=ScrubHyperparameters, summary="teacher-student: diverge on forget, agree on retain (SCRUB)")
def scrub(model, task, hp, *, seed, progress):
    gen = generator(seed)
    teacher = copy.deepcopy(model).eval()
    optimizer = sgd(model, hp.lr)
    model.train()
    for epoch in range(hp.epochs):
        if epoch < hp.max_steps:
            for x, _ in batches(task.forget, hp.forget_batch_size, gen):
                (x,) = to_device(model, x)
                with torch.no_grad():
                    target = teacher(x)
                step(optimizer, -distillation_loss(model(x), target, hp.temperature))
        for x, y in batches(task.retain, hp.batch_size, gen):
            x, y = to_device(model, x, y)
            with torch.no_grad():
                target = teacher(x)
            logits = model(x)
            loss = hp.gamma * F.cross_entropy(logits, y) + hp.alpha * distillation_loss(logits, target, hp.temperature)
            step(optimizer, loss)
    return model

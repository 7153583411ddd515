"""Bad Teacher: distil from the competent original on retain samples and from a randomly
initialised (incompetent) teacher on forget samples.
Chundawat et al., "Can Bad Teaching Induce Forgetting?", AAAI 2023 (defaults from their
code: one epoch, Adam lr 1e-4, T = 1, 30 % of the retain set plus the forget set, batch 256).

Scaled by optimizer steps: the reference's pass (CIFAR-100 super-classes: 30 % of 49,500
retain + 500 forget = 15,350 images at batch 256) takes about 60 Adam steps. Here 30 % of
6,300 retain + 700 forget = 2,590 images would take 11 steps at batch 256, so the batch is
40: one pass of about 65 steps, each sample still seen once. Adam's step size does not
depend on the gradient's scale, so lr 1e-4 carries over.

Loss: KL(teacher_x || student_x), teacher = incompetent if x in forget else original.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch

from ..constraints import BATCH_SIZE, EPOCHS, LEARNING_RATE, POSITIVE, SHARE, Domain, domain
from ..training import Tensors
from .base import Hyperparameters, register
from .common import batches, distillation_loss, generator, step, to_device


@dataclass(frozen=True)
class BadTeacherHyperparameters(Hyperparameters):
    epochs: int = 1
    lr: float = 1e-4
    temperature: float = 1.0
    retain_share: float = 0.3
    batch_size: int = 40

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
        "temperature": domain(POSITIVE),
        "retain_share": SHARE,
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {
        "lr": ("logfloat", 1e-5, 1e-3), "epochs": ("int", 1, 5), "retain_share": ("float", 0.1, 1.0),
    }


@register(
    "bad_teacher", hyperparameters=BadTeacherHyperparameters, summary="distil: original on retain, random teacher on forget",
    version="08c0bb48a6",  # the source digest it replaced: its committed rows keep their code version
)
def bad_teacher(model, task, hp, *, seed, progress):
    gen = generator(seed)
    good = copy.deepcopy(model).eval()
    bad = task.make_model(seed + 1).eval()
    n_retain = max(1, round(hp.retain_share * len(task.retain)))
    retain = task.retain.subset(torch.randperm(len(task.retain), generator=gen)[:n_retain])
    # The label slot carries the flag "from the forget set", so one shuffled pass mixes both.
    mixed = Tensors(torch.cat([retain.x, task.forget.x]), torch.cat([torch.zeros(n_retain), torch.ones(len(task.forget))]).long())
    optimizer = torch.optim.Adam(model.parameters(), lr=hp.lr)
    model.train()
    for _ in range(hp.epochs):
        for x, is_forget in batches(mixed, hp.batch_size, gen, flips=task.recipe.flips):
            x, is_forget = to_device(model, x, is_forget)
            with torch.no_grad():
                target = torch.where(is_forget[:, None].bool(), bad(x), good(x))
            step(optimizer, distillation_loss(model(x), target, hp.temperature))
    return model

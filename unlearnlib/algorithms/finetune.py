"""Fine-tuning (FT): continue training the original model on the retain set only, so
that the forget set's influence fades (catastrophic forgetting). As in Jia et al.,
"Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023 (their code: 10 epochs over
the retain set at lr 0.01 to 0.1, batch 256, SGD momentum 0.9, weight decay 5e-4).

Scaled by optimizer steps: the reference's 10 epochs over 40,500 CIFAR-10 retain images are
about 1,580 steps. Here one epoch of the original's recipe (batch 128) over 6,300 retain
images is 50 steps; 5 epochs (250 steps, lr 0.01, the original's optimizer settings and
flips, no warm-up) is what fits in a fifth of a retrain (30 epochs).

Loss: CE(retain), a few epochs, a smaller learning rate than the original recipe.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Mapping

from ..constraints import EPOCHS, LEARNING_RATE, Domain
from ..training import fit
from .base import Hyperparameters, register


@dataclass(frozen=True)
class FinetuneHyperparameters(Hyperparameters):
    epochs: int = 5
    lr: float = 0.01

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": EPOCHS,
        "lr": LEARNING_RATE,
    }
    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 6)}


@register(
    "finetune", hyperparameters=FinetuneHyperparameters, summary="continue training on retain only (FT)",
    version="b15b1947f6",  # the source digest it replaced: its committed rows keep their code version
)
def finetune(model, task, hp, *, seed, progress):
    # min_steps 0: the epochs are the method's budget, not the original's floor on steps
    recipe = dataclasses.replace(task.recipe, epochs=hp.epochs, lr=hp.lr, warmup_epochs=0, min_steps=0)
    fit(model, task.retain, recipe, seed=seed, progress=progress, desc="finetune")
    return model

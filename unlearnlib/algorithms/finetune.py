"""Fine-tuning (FT): continue training the original model on the retain set only, so
that the forget set's influence fades (catastrophic forgetting). As in Jia et al.,
"Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023.

Loss: CE(retain), a few epochs, a smaller learning rate than the original recipe.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ..training import fit
from .base import Hyperparameters, register


@dataclass(frozen=True)
class FinetuneHyperparameters(Hyperparameters):
    epochs: int = 5
    lr: float = 0.01

    search_space: ClassVar[dict[str, tuple]] = {"lr": ("logfloat", 1e-3, 1e-1), "epochs": ("int", 1, 10)}


@register("finetune", hyperparameters=FinetuneHyperparameters, summary="continue training on retain only (FT)")
def finetune(model, task, hp, *, seed, progress):
    recipe = dataclasses.replace(task.recipe, epochs=hp.epochs, lr=hp.lr, warmup_epochs=0)
    fit(model, task.retain, recipe, seed=seed, progress=progress, desc="finetune")
    return model
